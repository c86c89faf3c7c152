import HTTPCore

/// How a request's primary cache key is made: always scheme, host, port, path
/// and query (two hosts never share an entry: a collision would let one site
/// poison another's cache), with chosen query parameters dropped (tracking
/// parameters that do not change the response) and, optionally, the rest
/// sorted so their order does not split the cache. HEAD shares GET's key.
public struct CacheKey: Sendable, Equatable {
    /// Query parameter names left out of the key; a trailing `*` matches a
    /// prefix (`utm_*`). Compared case-sensitively, as query strings are.
    public var ignoredQueryParameters: [String]
    public var sortsQuery: Bool

    public init(ignoredQueryParameters: [String] = [], sortsQuery: Bool = false) {
        self.ignoredQueryParameters = ignoredQueryParameters
        self.sortsQuery = sortsQuery
    }

    /// `scheme://host[:port]/path[?query]`; the default port is left out.
    public func primary(for request: HTTPRequest, scheme: String = "http") -> String {
        let target = UpstreamRequestBuilder.originForm(request.target)
        var key = scheme + "://" + (request.host ?? "")
        // `host` is the parsed name, without its port: the port comes from the Host field.
        if let port = Self.port(ofHostField: request.headers["Host"]), port != (scheme == "https" ? "443" : "80") {
            key += ":" + port
        }
        guard let q = target.firstIndex(of: "?") else { return key + target }
        key += target[..<q]
        let query = target[target.index(after: q)...]
        if ignoredQueryParameters.isEmpty && !sortsQuery { return key + "?" + query }
        var parameters = query.split(separator: "&", omittingEmptySubsequences: true).filter { !ignores($0) }
        if sortsQuery { parameters.sort() }
        return parameters.isEmpty ? key : key + "?" + parameters.joined(separator: "&")
    }

    private func ignores(_ parameter: Substring) -> Bool {
        let name = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return ignoredQueryParameters.contains { pattern in
            pattern.hasSuffix("*") ? name.hasPrefix(pattern.dropLast()) : name == pattern
        }
    }

    /// The port of a Host value (`name:port`, `[v6]:port`); nil without one.
    static func port(ofHostField value: String?) -> Substring? {
        guard let value, let colon = value.lastIndex(of: ":") else { return nil }
        if value.hasPrefix("["), let close = value.lastIndex(of: "]"), close > colon { return nil }
        let port = value[value.index(after: colon)...]
        return port.isEmpty ? nil : port
    }
}
