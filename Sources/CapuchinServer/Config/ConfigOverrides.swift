/// Command-line values that take precedence over the configuration file.
public struct ConfigOverrides: Sendable {
    public var port: Int?
    public var root: String?
    public var workers: Int?
    public var balance: BalanceMode?
    public var cacheDir: String?
    public var noCache = false
    public var adminPort: Int?
    public var logLevel: LogLevel?
    /// `--tls-cert` and `--tls-key`: the main listener speaks HTTPS (both or neither).
    public var tlsCertificate: String?
    public var tlsKey: String?

    public init() {}

    /// Applies the overrides. `--root` replaces the sites with one default site;
    /// `--cache-dir` and `--admin-port` set `cache.dir` and `admin.port` (the
    /// latter also enables the admin plugin); `--no-cache` disables the cache.
    /// Throws `ConfigError` for out-of-range values.
    public func apply(to c: inout ServerConfig) throws {
        if let port {
            guard (0...65535).contains(port) else { throw ConfigError(file: "command line", line: nil, key: "--port", message: "must be 0-65535") }
            c.port = port
        }
        switch (tlsCertificate, tlsKey) {
        case (let cert?, let key?):
            c.tls = TLSFiles(certificate: cert, key: key, configKey: "server.tls")
            c.redirectToHTTPSPort = nil
        case (nil, nil): break
        default:
            throw ConfigError(file: "command line", line: nil, key: tlsCertificate == nil ? "--tls-cert" : "--tls-key",
                              message: "--tls-cert and --tls-key go together")
        }
        if let root { c.sites = [SiteConfig(names: [], root: root, isDefault: true)] }
        if let workers {
            guard (0...256).contains(workers) else { throw ConfigError(file: "command line", line: nil, key: "--workers", message: "must be 0-256") }
            c.workers = workers
        }
        if let balance { c.balance = balance }
        if let logLevel { c.logLevel = logLevel }
        if let cacheDir { pluginSection("cache", in: &c).override("dir", with: cacheDir) }
        if noCache { c.pluginSwitches["cache"] = false }
        if let adminPort {
            guard (0...65535).contains(adminPort) else { throw ConfigError(file: "command line", line: nil, key: "--admin-port", message: "must be 0-65535") }
            pluginSection("admin", in: &c).override("port", with: String(adminPort))
            c.pluginSwitches["admin"] = true
        }
    }

    private func pluginSection(_ name: String, in c: inout ServerConfig) -> ConfigSection {
        if let s = c.pluginSections[name] { return s }
        let s = ConfigSection.empty(file: c.file, path: name)
        c.pluginSections[name] = s
        return s
    }
}
