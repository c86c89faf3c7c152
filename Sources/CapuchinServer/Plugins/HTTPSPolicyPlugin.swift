import HTTPCore

/// The HTTPS policy of the public listeners, as configured: the
/// Strict-Transport-Security header on every response sent over TLS
/// (`server.hsts`), and on a plain listener with `redirect_https: PORT` a 301
/// to the same host and target over HTTPS for every request (nginx's
/// `return 301 https://$host$request_uri`). Runs first; present only when
/// configured, so a server without either pays nothing per request.
final class HTTPSPolicyPlugin: Plugin {
    let name = "https"
    let phases: PluginPhases
    private let hsts: String?
    /// Configured port of a redirecting listener to the HTTPS port it sends clients to.
    private let redirects: [Int: Int]

    /// nil when the configuration asks for neither.
    init?(config: ServerConfig) {
        hsts = config.servesTLS ? config.hsts : nil
        var redirects: [Int: Int] = [:]
        for l in config.listeners where l.tls == nil { if let to = l.redirectToHTTPSPort { redirects[l.port] = to } }
        self.redirects = redirects
        var phases: PluginPhases = []
        if hsts != nil { phases.insert(.filter) }
        if !redirects.isEmpty { phases.insert(.requestParsed) }
        if phases.isEmpty { return nil }
        self.phases = phases
    }

    func requestParsed(_ request: HTTPRequest, context: RequestContext) -> Response? {
        guard !context.connection.isTLS, let port = redirects[context.connection.localPort] else { return nil }
        let host = request.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        let location = "https://\(host)\(port == 443 ? "" : ":\(port)")\(request.target)"
        return ErrorPage.response(301, headers: [("Location", location)])
    }

    func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext) {
        if context.connection.isTLS, let hsts { response.headers.add("Strict-Transport-Security", hsts) }
    }
}
