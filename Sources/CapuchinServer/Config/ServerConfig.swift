/// How new connections are spread over workers.
public enum BalanceMode: String, Sendable, CaseIterable {
    /// Each worker has its own SO_REUSEPORT listener; the kernel spreads connections.
    case reuseport
    /// One acceptor thread hands each connection to the least-loaded worker.
    case fair
    /// One listener in every worker's epoll with EPOLLEXCLUSIVE: the kernel
    /// wakes one waiting (so idle) worker per connection, as nginx and h2o do.
    case shared
}

/// Error-log verbosity, most severe first.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case error = 0, warn, info, debug

    public var name: String { ["error", "warn", "info", "debug"][rawValue] }
    public init?(name: String) {
        guard let l = LogLevel.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = l
    }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One `sites` entry as configured (the root is resolved when loaded).
public struct SiteConfig: Sendable, Equatable {
    public var names: [String]
    public var root: String
    public var index: [String]
    public var allowSymlinks: Bool
    public var isDefault: Bool
    /// This site's own access log (a path); nil: the server's `logging.access_log`.
    public var accessLog: String?
    /// This site's certificate, offered on every TLS listener to clients asking for one of `names` (SNI).
    public var tls: TLSFiles?

    public init(names: [String], root: String, index: [String] = ["index.html"], allowSymlinks: Bool = false, isDefault: Bool = false) {
        self.names = names
        self.root = root
        self.index = index
        self.allowSymlinks = allowSymlinks
        self.isDefault = isDefault
    }
}

/// The whole validated configuration. Defaults are documented in docs/CONFIG.md.
public struct ServerConfig {
    /// The file it came from ("<defaults>" when none).
    public var file: String = "<defaults>"

    // server
    public var listenAddress = "0.0.0.0"
    public var port = 8080
    /// `server.tls`: the main listener speaks HTTPS with this certificate.
    public var tls: TLSFiles?
    /// `server.redirect_https`: the (plain) main listener redirects every request to HTTPS on this port.
    public var redirectToHTTPSPort: Int?
    /// `server.hsts`: a Strict-Transport-Security value added to responses sent over TLS.
    public var hsts: String?
    /// The `listeners` list: public listeners besides the main one.
    public var extraListeners: [ListenerConfig] = []
    /// 0: one per processor.
    public var workers = 0
    /// reuseport: `shared` was not measurably better here (two quiet `tls.py`
    /// runs: resumed handshakes 1.23x, then 0.97x reuseport's rate; keep-alive
    /// 1.02x, then 0.94x; `static.sh` 1.02x and 1.04x once).
    public var balance = BalanceMode.reuseport
    public var keepaliveTimeout = 15.0
    public var keepaliveRequests = 1000
    public var headerTimeout = 10.0
    public var writeTimeout = 30.0
    public var drainTimeout = 10.0
    public var maxConnections = 10_000
    public var maxRequestBody = 1 << 20
    public var sendfileThreshold = 64 << 10
    public var stateDir = "capuchin-state"
    /// `server.user` / `server.group`: who to run as after binding (nil: stay as started).
    public var user: String?
    public var group: String?

    public var sites: [SiteConfig] = []
    public var mimeOverrides: [String: String] = [:]

    // logging
    /// "stderr" or a file path.
    public var errorLog = "stderr"
    public var logLevel = LogLevel.info
    /// nil: no access log.
    public var accessLog: String?
    public var accessLogFormat = AccessLogFormat.combined

    /// Explicit `plugins:` switches, by name.
    public var pluginSwitches: [String: Bool] = [:]
    /// Pass-through sections (`cache`, `admin`, `proxy`), validated by their plugins.
    public var pluginSections: [String: ConfigSection] = [:]
    /// The file's key lines (errors found after parsing name them) and, for
    /// `capuchin check`, the errors collected.
    public var diagnostics = ConfigDiagnostics()

    /// The line of a key path ("sites[0].root") in the file, when it was there.
    public func line(of key: String) -> Int? { diagnostics.lines[key] }

    public init() {}

    /// Every public listener: the main one (`server.listen`, `port`, `tls`), then `listeners`.
    public var listeners: [ListenerConfig] {
        [ListenerConfig(address: listenAddress, port: port, tls: tls, redirectToHTTPSPort: redirectToHTTPSPort, configKey: "server")]
            + extraListeners
    }

    /// Whether any listener speaks TLS.
    public var servesTLS: Bool { listeners.contains { $0.tls != nil } }

    /// The worker count to run (resolving 0 to the processor count).
    public func effectiveWorkers(processors: Int) -> Int { workers > 0 ? workers : processors }

    /// A plugin's section (empty when absent from the file).
    public func section(for plugin: String) -> ConfigSection {
        pluginSections[plugin] ?? .empty(file: file, path: plugin)
    }
}
