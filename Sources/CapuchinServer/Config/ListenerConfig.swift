/// A certificate chain and its key (PEM files), as `tls: {cert, key, ocsp_file}` gives them.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    /// A DER OCSP response stapled to the certificate's handshakes (nginx's `ssl_stapling_file`).
    public var ocsp: String?
    /// The key path in the file ("server.tls", "listeners[1].tls", "sites[0].tls"): errors name it.
    public var configKey: String
    /// `ktls: auto` (the default): a listener's responses go out by kernel TLS where
    /// the kernel offers it; `off`: records always encrypted in user space.
    public var kernelTLS: Bool

    public init(certificate: String, key: String, ocsp: String? = nil, configKey: String, kernelTLS: Bool = true) {
        self.certificate = certificate
        self.key = key
        self.ocsp = ocsp
        self.configKey = configKey
        self.kernelTLS = kernelTLS
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
    /// resolve against `base`. `ktls` belongs to a listener's mapping only (a
    /// site's certificate is chosen inside a listener's connections). Throws
    /// `ConfigError` naming the missing or bad key.
    func tlsFiles(base: String, listener: Bool = true) throws -> TLSFiles? {
        guard contains("tls") else { _ = try section("tls"); return nil }
        let t = try section("tls")
        let cert = try t.optionalString("cert")
        let key = try t.optionalString("key")
        let ocsp = try t.optionalString("ocsp_file")
        let ktls = listener ? try t.choice("ktls", ["auto", "off"], default: "auto") : "auto"
        try t.finish()
        guard let cert, !cert.isEmpty else { try t.report(t.error("cert", "a TLS listener needs a certificate chain file (PEM)")); return nil }
        guard let key, !key.isEmpty else { try t.report(t.error("key", "a TLS listener needs the certificate's private key file (PEM)")); return nil }
        if let ocsp, ocsp.isEmpty { try t.report(t.error("ocsp_file", "an empty path (leave the key out to staple nothing)")); return nil }
        return TLSFiles(certificate: ConfigLoader.resolve(cert, against: base), key: ConfigLoader.resolve(key, against: base),
                        ocsp: ocsp.map { ConfigLoader.resolve($0, against: base) }, configKey: t.path, kernelTLS: ktls != "off")
    }
}
