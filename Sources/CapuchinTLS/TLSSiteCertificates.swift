/// The certificates one TLS listener offers: a default, and per host name
/// (exact names, then the longest `*.suffix` wildcard, as sites are matched),
/// chosen by the ClientHello's server name (SNI). Immutable: a reload builds a
/// new set, and a session keeps the set it started with.
public final class TLSSiteCertificates: @unchecked Sendable { // safe: immutable after init
    public let defaultContext: TLSContext
    /// As given to `init` (a reload keeps an entry whose new files fail to load).
    public let named: [String: TLSContext]
    private let exact: [String: TLSContext]
    /// (".example.com", context), longest suffix first.
    private let wildcards: [(String, TLSContext)]

    /// `named`: host name (lowercase; `*.example.com` a wildcard) to its certificate.
    public init(defaultContext: TLSContext, named: [String: TLSContext] = [:]) {
        self.defaultContext = defaultContext
        self.named = named
        var exact: [String: TLSContext] = [:]
        var wild: [(String, TLSContext)] = []
        for (name, c) in named {
            if name.hasPrefix("*.") { wild.append((String(name.dropFirst()), c)) } else { exact[name] = c }
        }
        self.exact = exact
        wildcards = wild.sorted { $0.0.count > $1.0.count }
    }

    /// Every context in the set (the default first).
    public var contexts: [TLSContext] { [defaultContext] + exact.values + wildcards.map(\.1) }

    /// The certificate for a server name (any case); the default when none is configured for it.
    public func context(for serverName: String?) -> TLSContext {
        guard let raw = serverName, !raw.isEmpty else { return defaultContext }
        let name = raw.lowercased()
        if let c = exact[name] { return c }
        for (suffix, c) in wildcards where name.hasSuffix(suffix) && name.count > suffix.count { return c }
        return defaultContext
    }
}
