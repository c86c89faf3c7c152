import CapuchinServer
import CapuchinTLS

/// One upstream pool as configured.
public struct PoolConfig: Sendable {
    public var name: String
    public var backends: [BackendAddress]
    public var balance: BalanceAlgorithm
    /// `hash_key`, `virtual_nodes`, `balance_factor` (consistent-hash only).
    public var consistentHash: ConsistentHashConfig
    /// Backends tried for one request before giving up (at least 1).
    public var attempts: Int
    /// Failures within `failTimeoutNanos` that mark a backend down (nginx's
    /// `max_fails`; 0: never marked down by failures).
    public var maxFails: Int
    /// The window in which `maxFails` failures are counted, and how long the
    /// backend then stays down (nginx's `fail_timeout`; `offline_timeout` is
    /// the older name of the same key).
    public var offlineTimeoutNanos: UInt64
    /// Response statuses that count as a backend failure (none by default: a
    /// 5xx is the origin's answer, relayed as it is).
    public var failOnStatus: Set<Int>
    /// How long a pooled connection may sit idle before it is closed; below the
    /// keep-alive timeouts of common origins (Node.js 5 s, Apache 5 s) so the
    /// origin rarely closes one just as it is reused.
    public var keepaliveTimeoutNanos: UInt64
    public var connectTimeoutNanos: UInt64
    /// From the request being sent to the first response byte.
    public var firstByteTimeoutNanos: UInt64
    /// Longest silence while reading a response (and for a pooled idle connection).
    public var idleTimeoutNanos: UInt64
    /// Active health checks; nil: passive marking only.
    public var healthCheck: HealthCheckConfig?
    public var hostHeader: HostHeaderMode
    /// Clients whose X-Forwarded-* headers are kept (and extended).
    public var trustedProxies: [AddressRange]
    /// `tls: true`: HTTPS to the backends, their certificates verified (`ca_file`,
    /// else the system store; `tls_verify: false` turns that off) with SNI and
    /// the name checked against each backend's host. nil: plain HTTP.
    public var tls: TLSClientContext?

    public init(name: String, backends: [BackendAddress], balance: BalanceAlgorithm = .roundRobin, attempts: Int = 2,
                maxFails: Int = 1, offlineTimeoutNanos: UInt64 = 10_000_000_000, failOnStatus: Set<Int> = [],
                keepaliveTimeoutNanos: UInt64 = 4_000_000_000, connectTimeoutNanos: UInt64 = 3_000_000_000,
                firstByteTimeoutNanos: UInt64 = 60_000_000_000, idleTimeoutNanos: UInt64 = 60_000_000_000,
                hostHeader: HostHeaderMode = .pass, trustedProxies: [AddressRange] = [], healthCheck: HealthCheckConfig? = nil,
                consistentHash: ConsistentHashConfig = ConsistentHashConfig()) {
        self.name = name
        self.backends = backends
        self.balance = balance
        self.consistentHash = consistentHash
        self.attempts = attempts
        self.maxFails = maxFails
        self.offlineTimeoutNanos = offlineTimeoutNanos
        self.failOnStatus = failOnStatus
        self.keepaliveTimeoutNanos = keepaliveTimeoutNanos
        self.connectTimeoutNanos = connectTimeoutNanos
        self.firstByteTimeoutNanos = firstByteTimeoutNanos
        self.idleTimeoutNanos = idleTimeoutNanos
        self.hostHeader = hostHeader
        self.trustedProxies = trustedProxies
        self.healthCheck = healthCheck
    }

    /// Reads one pool mapping (every key read; the caller calls `finish()`).
    /// Throws `ConfigError` naming the file, line and key.
    init(name: String, section s: ConfigSection) throws {
        let defaults = PoolConfig(name: name, backends: [])
        let list = try s.stringList("backends", default: [])
        guard !list.isEmpty else { throw s.error("backends", "a pool needs at least one backend (host:port)") }
        let backends = try list.enumerated().map { i, text in
            try s.wrap { try BackendAddress(parsing: text, key: "backends[\(i)]") }
        }
        if let dup = Dictionary(grouping: backends, by: { $0 }).first(where: { $0.value.count > 1 }) {
            throw s.error("backends", "\(dup.key) is listed twice")
        }
        let balanceText = try s.choice("balance", BalanceAlgorithm.allCases.map(\.rawValue), default: defaults.balance.rawValue)
        let balance = BalanceAlgorithm(rawValue: balanceText)!
        var host = HostHeaderMode.pass
        let value = try s.optionalString("host_header_value")
        switch try s.choice("host_header", ["pass", "backend", "fixed"], default: "pass") {
        case "backend": host = .backend
        case "fixed":
            guard let value, !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw s.error("host_header_value", "host_header: fixed needs a non-empty host_header_value without spaces")
            }
            host = .fixed(value)
        default: host = .pass
        }
        if value != nil, host != .fixed(value!) {
            throw s.error("host_header_value", "only used with host_header: fixed")
        }
        let trusted = try s.stringList("trusted_proxies", default: []).enumerated().map { i, text in
            try s.wrap { try AddressRange(parsing: text, key: "trusted_proxies[\(i)]") }
        }
        func nanos(_ key: String, _ fallback: UInt64, positive: Bool) throws -> UInt64 {
            let d = try s.duration(key, default: Double(fallback) / 1e9, range: 0...86400 * 365)
            if positive && d <= 0 { throw s.error(key, "must be greater than zero") }
            return UInt64(d * 1e9)
        }
        if s.contains("offline_timeout") && s.contains("fail_timeout") {
            throw s.error("offline_timeout", "offline_timeout is the older name of fail_timeout: give one of them")
        }
        let failKey = s.contains("offline_timeout") ? "offline_timeout" : "fail_timeout"
        let statuses = try s.stringList("fail_on_status", default: []).map { text in
            guard let n = Int(text), (500...599).contains(n) else {
                throw s.error("fail_on_status", "expected a list of 5xx statuses (e.g. [502, 503, 504]), got \(text)")
            }
            return n
        }
        var tls: TLSClientContext?
        let caFile = try s.optionalString("ca_file")
        let verify = try s.bool("tls_verify", default: true)
        if try s.bool("tls", default: false) {
            do { tls = try TLSClientContext(caFile: caFile, verify: verify) } catch let e as TLSError {
                throw s.error(caFile != nil ? "ca_file" : "tls", e.message)
            }
        } else if caFile != nil || !verify {
            throw s.error(caFile != nil ? "ca_file" : "tls_verify", "only used with tls: true")
        }
        self.init(name: name, backends: backends, balance: balance,
                  attempts: try s.int("attempts", default: defaults.attempts, range: 1...100),
                  maxFails: try s.int("max_fails", default: defaults.maxFails, range: 0...1000),
                  offlineTimeoutNanos: try nanos(failKey, defaults.offlineTimeoutNanos, positive: false),
                  failOnStatus: Set(statuses),
                  keepaliveTimeoutNanos: try nanos("keepalive_timeout", defaults.keepaliveTimeoutNanos, positive: false),
                  connectTimeoutNanos: try nanos("connect_timeout", defaults.connectTimeoutNanos, positive: true),
                  firstByteTimeoutNanos: try nanos("first_byte_timeout", defaults.firstByteTimeoutNanos, positive: true),
                  idleTimeoutNanos: try nanos("idle_timeout", defaults.idleTimeoutNanos, positive: true),
                  hostHeader: host, trustedProxies: trusted, healthCheck: try Self.healthCheck(in: s),
                  consistentHash: try ConsistentHashConfig(section: s, balance: balance))
        self.tls = tls
    }

    private static func healthCheck(in s: ConfigSection) throws -> HealthCheckConfig? {
        guard s.contains("health_check") else { return nil }
        let hs = try s.section("health_check")
        let config = try HealthCheckConfig(section: hs)
        try hs.finish()
        return config
    }

    /// Whether a client at `address` may supply X-Forwarded-* headers.
    public func trusts(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }
}
