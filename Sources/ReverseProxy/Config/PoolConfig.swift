/// One upstream pool as configured.
public struct PoolConfig: Sendable {
    public var name: String
    public var backends: [BackendAddress]
    public var balance: BalanceAlgorithm
    /// Backends tried for one request before giving up (at least 1).
    public var attempts: Int
    /// How long a backend stays marked down after a refusal or timeout.
    public var offlineTimeoutNanos: UInt64
    public var connectTimeoutNanos: UInt64
    /// From the request being sent to the first response byte.
    public var firstByteTimeoutNanos: UInt64
    /// Longest silence while reading a response (and for a pooled idle connection).
    public var idleTimeoutNanos: UInt64
    public var hostHeader: HostHeaderMode
    /// Clients whose X-Forwarded-* headers are kept (and extended).
    public var trustedProxies: [AddressRange]

    public init(name: String, backends: [BackendAddress], balance: BalanceAlgorithm = .roundRobin, attempts: Int = 2,
                offlineTimeoutNanos: UInt64 = 10_000_000_000, connectTimeoutNanos: UInt64 = 3_000_000_000,
                firstByteTimeoutNanos: UInt64 = 60_000_000_000, idleTimeoutNanos: UInt64 = 60_000_000_000,
                hostHeader: HostHeaderMode = .pass, trustedProxies: [AddressRange] = []) {
        self.name = name
        self.backends = backends
        self.balance = balance
        self.attempts = attempts
        self.offlineTimeoutNanos = offlineTimeoutNanos
        self.connectTimeoutNanos = connectTimeoutNanos
        self.firstByteTimeoutNanos = firstByteTimeoutNanos
        self.idleTimeoutNanos = idleTimeoutNanos
        self.hostHeader = hostHeader
        self.trustedProxies = trustedProxies
    }

    static let keys: Set<String> = [
        "backends", "balance", "attempts", "offline_timeout", "connect_timeout", "first_byte_timeout",
        "idle_timeout", "host_header", "host_header_value", "trusted_proxies",
    ]

    /// Reads one pool mapping. Throws `ProxyConfigError` naming the key.
    init(name: String, section s: ConfigSection) throws {
        let defaults = PoolConfig(name: name, backends: [])
        guard let list = try s.stringList("backends"), !list.isEmpty else {
            throw s.error("backends", "a pool needs at least one backend (host:port)")
        }
        let backends = try list.enumerated().map { i, text in
            try BackendAddress(parsing: text, key: s.keyPath("backends[\(i)]"))
        }
        if let dup = Dictionary(grouping: backends, by: { $0 }).first(where: { $0.value.count > 1 }) {
            throw s.error("backends", "\(dup.key) is listed twice")
        }
        var balance = defaults.balance
        if let text = try s.string("balance") {
            guard let b = BalanceAlgorithm(rawValue: text) else {
                throw s.error("balance", "unknown algorithm \"\(text)\" (one of: \(BalanceAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            balance = b
        }
        var host = HostHeaderMode.pass
        let value = try s.string("host_header_value")
        switch try s.string("host_header") ?? "pass" {
        case "pass": host = .pass
        case "backend": host = .backend
        case "fixed":
            guard let value, !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw s.error("host_header_value", "host_header: fixed needs a non-empty host_header_value without spaces")
            }
            host = .fixed(value)
        case let other:
            throw s.error("host_header", "unknown mode \"\(other)\" (one of: pass, backend, fixed)")
        }
        if value != nil, host != .fixed(value!) {
            throw s.error("host_header_value", "only used with host_header: fixed")
        }
        let trusted = try (s.stringList("trusted_proxies") ?? []).enumerated().map { i, text in
            try AddressRange(parsing: text, key: s.keyPath("trusted_proxies[\(i)]"))
        }
        func positive(_ key: String, _ fallback: UInt64) throws -> UInt64 {
            guard let v = try s.durationNanos(key) else { return fallback }
            guard v > 0 else { throw s.error(key, "must be greater than zero") }
            return v
        }
        self.init(name: name, backends: backends, balance: balance,
                  attempts: try s.int("attempts", range: 1...100) ?? defaults.attempts,
                  offlineTimeoutNanos: try s.durationNanos("offline_timeout") ?? defaults.offlineTimeoutNanos,
                  connectTimeoutNanos: try positive("connect_timeout", defaults.connectTimeoutNanos),
                  firstByteTimeoutNanos: try positive("first_byte_timeout", defaults.firstByteTimeoutNanos),
                  idleTimeoutNanos: try positive("idle_timeout", defaults.idleTimeoutNanos),
                  hostHeader: host, trustedProxies: trusted)
    }

    /// Whether a client at `address` may supply X-Forwarded-* headers.
    public func trusts(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }
}
