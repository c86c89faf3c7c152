/// Whether a stored body is fsynced before it is indexed.
public enum BodyDurability: String, Sendable {
    /// fsync the body file and its directory before indexing (survives power loss).
    case sync
    /// Rely on rename ordering only (survives a process crash; after power loss a
    /// body may be short, which the start-up check then drops).
    case batched
}

/// The proxy cache's settings.
public struct ProxyCacheConfig: Sendable {
    public var enabled: Bool
    /// Freshness for a cacheable response that states none (0: only explicit
    /// freshness is cached).
    public var defaultTTLSeconds: Int64
    /// How long past its freshness a response may still be served while it is
    /// revalidated, or when the origin fails (unless the origin says otherwise).
    public var graceSeconds: Int64
    public var maxObjectSize: Int
    /// Bodies live in `<directory>/proxy/`.
    public var directory: String
    public var durability: BodyDurability

    public init(enabled: Bool = false, defaultTTLSeconds: Int64 = 0, graceSeconds: Int64 = 0,
                maxObjectSize: Int = 64 << 20, directory: String = "", durability: BodyDurability = .batched) {
        self.enabled = enabled
        self.defaultTTLSeconds = defaultTTLSeconds
        self.graceSeconds = graceSeconds
        self.maxObjectSize = maxObjectSize
        self.directory = directory
        self.durability = durability
    }

    static let keys: Set<String> = ["enabled", "default_ttl", "grace", "max_object_size", "dir", "durability"]

    /// Reads the cache mapping. Throws `ProxyConfigError` naming the key.
    init(section s: ConfigSection) throws {
        let d = ProxyCacheConfig()
        let enabled = try s.bool("enabled") ?? true
        let dir = try s.string("dir") ?? ""
        if enabled && !dir.hasPrefix("/") {
            throw s.error("dir", "an enabled cache needs an absolute directory")
        }
        var durability = d.durability
        if let text = try s.string("durability") {
            guard let v = BodyDurability(rawValue: text) else { throw s.error("durability", "expected sync or batched") }
            durability = v
        }
        guard let maxSize = try s.bytes("max_object_size") ?? Optional(d.maxObjectSize), maxSize > 0 else {
            throw s.error("max_object_size", "must be greater than zero")
        }
        self.init(enabled: enabled,
                  defaultTTLSeconds: Int64((try s.durationNanos("default_ttl") ?? 0) / 1_000_000_000),
                  graceSeconds: Int64((try s.durationNanos("grace") ?? 0) / 1_000_000_000),
                  maxObjectSize: maxSize, directory: dir, durability: durability)
    }
}
