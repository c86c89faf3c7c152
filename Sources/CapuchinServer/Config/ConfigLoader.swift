import CapuchinSystem
import Yams

/// Reads and validates the YAML configuration before anything starts.
public enum ConfigLoader {
    /// Sections handed to plugins unvalidated here.
    public static let pluginSectionNames = ["cache", "compression", "admin", "proxy"]

    /// Reads `path` and parses it. Throws `ConfigError` (unreadable file, YAML
    /// syntax, unknown key, bad value), naming the file, line and key.
    /// With collecting `diagnostics` (`capuchin check`), every error is recorded
    /// there and parsing goes on; only an unreadable file or broken YAML throws.
    public static func load(path: String) throws -> ServerConfig {
        try load(path: path, diagnostics: ConfigDiagnostics())
    }

    public static func load(path: String, diagnostics: ConfigDiagnostics) throws -> ServerConfig {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path) } catch let e as SystemError {
            throw ConfigError(file: path, line: nil, key: "", message: "cannot read the file: \(e.code)")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path, diagnostics: diagnostics)
    }

    /// Parses configuration text. Relative site roots are resolved against the
    /// file's directory. Throws `ConfigError` as `load` does.
    public static func parse(_ text: String, file: String, diagnostics: ConfigDiagnostics = ConfigDiagnostics()) throws -> ServerConfig {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw ConfigError(file: file, line: yamlLine(e), key: "", message: "YAML syntax error: \(e)")
        } catch {
            throw ConfigError(file: file, line: nil, key: "", message: "YAML error: \(error)")
        }
        let top = try ConfigSection(file: file, path: "", node: node, diagnostics: diagnostics)
        var c = ServerConfig()
        c.file = file
        c.diagnostics = diagnostics
        let base = directoryOf(file)

        let server = try top.section("server")
        c.listenAddress = try server.string("listen", default: c.listenAddress)
        c.port = try server.int("port", default: c.port, range: 0...65535)
        c.workers = try server.int("workers", default: c.workers, range: 0...256)
        c.balance = BalanceMode(rawValue: try server.choice("balance", BalanceMode.allCases.map(\.rawValue), default: c.balance.rawValue))!
        c.keepaliveTimeout = try server.duration("keepalive_timeout", default: c.keepaliveTimeout, range: 0...86400)
        c.keepaliveRequests = try server.int("keepalive_requests", default: c.keepaliveRequests, range: 1...10_000_000)
        c.headerTimeout = try server.duration("header_timeout", default: c.headerTimeout, range: 0.1...3600)
        c.writeTimeout = try server.duration("write_timeout", default: c.writeTimeout, range: 0.1...86400)
        c.drainTimeout = try server.duration("drain_timeout", default: c.drainTimeout, range: 0...3600)
        c.maxConnections = try server.int("max_connections", default: c.maxConnections, range: 1...10_000_000)
        c.maxRequestBody = try server.size("max_request_body", default: c.maxRequestBody, range: 0...(1 << 40))
        c.sendfileThreshold = try server.size("sendfile_threshold", default: c.sendfileThreshold, range: 0...(1 << 30))
        c.stateDir = resolve(try server.string("state_dir", default: c.stateDir), against: base)
        c.user = try server.optionalString("user")
        c.group = try server.optionalString("group")
        c.tls = try server.tlsFiles(base: base)
        c.redirectToHTTPSPort = try server.optionalInt("redirect_https", range: 1...65535)
        c.hsts = try server.optionalString("hsts")
        if c.tls != nil && c.redirectToHTTPSPort != nil {
            try server.report(server.error("redirect_https", "a TLS listener cannot redirect to HTTPS (itself)"))
        }
        if c.group != nil && c.user == nil { try server.report(server.error("group", "needs server.user (the group is set when dropping to a user)")) }
        try server.finish()

        for l in try top.sectionList("listeners") {
            guard let port = try l.optionalInt("port", range: 0...65535) else {
                try l.report(l.error("port", "every listener needs a port"))
                continue
            }
            var listener = ListenerConfig(address: try l.string("listen", default: c.listenAddress), port: port, configKey: l.path)
            listener.tls = try l.tlsFiles(base: base)
            listener.redirectToHTTPSPort = try l.optionalInt("redirect_https", range: 1...65535)
            if listener.tls != nil && listener.redirectToHTTPSPort != nil {
                try l.report(l.error("redirect_https", "a TLS listener cannot redirect to HTTPS (itself)"))
            }
            try l.finish()
            if port != 0, c.extraListeners.contains(where: { $0.port == port }) || port == c.port {
                try l.report(l.error("port", "port \(port) is already used by another listener"))
                continue
            }
            c.extraListeners.append(listener)
        }

        for (i, s) in try top.sectionList("sites").enumerated() {
            var site = SiteConfig(names: try s.stringList("names", default: []), root: "")
            guard let root = try s.optionalString("root") else {
                try s.report(s.error("root", "every site needs a root directory"))
                continue
            }
            site.root = resolve(root, against: base)
            site.index = try s.stringList("index", default: site.index)
            if let bad = site.index.first(where: { $0.isEmpty || $0.contains("/") }) {
                try s.report(s.error("index", "index entries are file names without '/', got '\(bad)'"))
            }
            if let a = try s.optionalString("access_log"), a != "off" { site.accessLog = resolveLog(a, base) }
            site.allowSymlinks = try s.bool("allow_symlinks", default: false)
            site.isDefault = try s.bool("default", default: false)
            site.tls = try s.tlsFiles(base: base, listener: false)
            if site.tls != nil && site.names.isEmpty {
                try s.report(s.error("tls", "a site's certificate is chosen by its names (SNI): this site has none"))
            }
            site.names = site.names.map { $0.lowercased() }
            if site.names.isEmpty && !site.isDefault && i > 0 {
                try s.report(s.error("names", "only the default site may have no names"))
            }
            try s.finish()
            c.sites.append(site)
        }
        if c.sites.filter(\.isDefault).count > 1 {
            try diagnostics.report(ConfigError(file: file, line: diagnostics.lines["sites"], key: "sites", message: "more than one site has default: true"))
        }

        for (ext, type) in try top.stringMap("mime") {
            let e = ext.hasPrefix(".") ? String(ext.dropFirst()) : ext
            if e.isEmpty || type.isEmpty || !type.contains("/") {
                try top.report(top.error("mime", "entry '\(ext): \(type)' needs an extension and a type/subtype"))
                continue
            }
            c.mimeOverrides[e.lowercased()] = type
        }

        let logging = try top.section("logging")
        c.errorLog = resolveLog(try logging.string("error_log", default: c.errorLog), base)
        let level = try logging.choice("level", LogLevel.allCases.map(\.name), default: c.logLevel.name)
        c.logLevel = LogLevel(name: level)!
        if let a = try logging.optionalString("access_log"), a != "off" { c.accessLog = resolveLog(a, base) }
        let format = try logging.choice("access_log_format", AccessLogFormat.allCases.map(\.rawValue), default: c.accessLogFormat.rawValue)
        c.accessLogFormat = AccessLogFormat(rawValue: format) ?? .combined
        try logging.finish()

        let plugins = try top.section("plugins")
        for name in plugins.keys { c.pluginSwitches[name] = try plugins.bool(name, default: true) }
        try plugins.finish()

        for name in pluginSectionNames { c.pluginSections[name] = try top.section(name) }
        try top.finish()
        return c
    }

    private static func yamlLine(_ e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func resolveLog(_ path: String, _ base: String) -> String {
        path == "stderr" || path == "off" ? path : resolve(path, against: base)
    }

    static func directoryOf(_ file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    /// `path` if absolute, else joined to `base`.
    public static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : (base == "." ? path : "\(base)/\(path)")
    }
}
