import CapuchinServer

/// The `admin` config section.
public struct AdminSettings: Sendable, Equatable {
    public var bind: String = "127.0.0.1"
    public var port: Int = 8081
    public var token: String?
    /// Chart.js as Debian's libjs-chart.js installs it; the page works without it.
    public var chartJSPath: String = "/usr/share/javascript/chart.js/chart.min.js"

    public init() {}

    /// Reads and validates the section. Throws `ConfigError` naming the key: a
    /// bad value, an empty token, or a non-loopback bind address without a token.
    public init(section: ConfigSection) throws {
        bind = try section.string("bind", default: bind)
        port = try section.int("port", default: port, range: 0...65535)
        token = try section.optionalString("token")
        chartJSPath = try section.string("chart_js", default: chartJSPath)
        if let t = token, t.isEmpty || t.contains(where: { $0 == " " || $0 == "\n" }) {
            throw section.error("token", "must be a non-empty string without spaces")
        }
        if token == nil && !Self.isLoopback(bind) {
            throw section.error("bind", "the admin listener on \(bind) is reachable from other hosts; set admin.token (a bearer token) or bind to 127.0.0.1")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
