/// A certificate chain and its key (PEM files), as `tls: {cert, key}` gives them.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    /// The key path in the file ("server.tls", "listeners[1].tls", "sites[0].tls"): errors name it.
    public var configKey: String

    public init(certificate: String, key: String, configKey: String) {
        self.certificate = certificate
        self.key = key
        self.configKey = configKey
    }
}

/// One public listening socket: `server.listen`/`port`/`tls`, and each entry of `listeners`.
public struct ListenerConfig: Sendable, Equatable {
    public var address: String
    public var port: Int
    /// Present: the listener speaks TLS (HTTPS) with this default certificate.
    public var tls: TLSFiles?
    /// A plain listener answering every request with a 301 to `https://host:PORT/...` (443: no port).
    public var redirectToHTTPSPort: Int?
    /// The key path in the file ("server", "listeners[0]").
    public var configKey: String

    public init(address: String, port: Int, tls: TLSFiles? = nil, redirectToHTTPSPort: Int? = nil, configKey: String) {
        self.address = address
        self.port = port
        self.tls = tls
        self.redirectToHTTPSPort = redirectToHTTPSPort
        self.configKey = configKey
    }
}

extension ConfigSection {
    /// `tls: {cert, key}` under this section; nil when absent. Relative paths
    /// resolve against `base`. Throws `ConfigError` naming the missing key.
    func tlsFiles(base: String) throws -> TLSFiles? {
        guard contains("tls") else { _ = try section("tls"); return nil }
        let t = try section("tls")
        let cert = try t.optionalString("cert")
        let key = try t.optionalString("key")
        try t.finish()
        guard let cert, !cert.isEmpty else { try t.report(t.error("cert", "a TLS listener needs a certificate chain file (PEM)")); return nil }
        guard let key, !key.isEmpty else { try t.report(t.error("key", "a TLS listener needs the certificate's private key file (PEM)")); return nil }
        return TLSFiles(certificate: ConfigLoader.resolve(cert, against: base), key: ConfigLoader.resolve(key, against: base),
                        configKey: t.path)
    }
}
