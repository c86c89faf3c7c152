import CapuchinServer
import HTTPCore

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
    /// Bytes that responses over `maxObjectSize` may take at once while spooled
    /// for coalesced waiters (`SpoolBudget`); default 16 x `maxObjectSize`.
    public var spoolCapacity: Int
    /// Bodies live in `<directory>/proxy/`.
    public var directory: String
    public var durability: BodyDurability
    /// Total size and count of stored responses; past it the least valuable
    /// are evicted (CachePolicies' default policy).
    public var limit: ProxyCacheLimit
    /// The targeted cache-control field addressed to this cache (RFC 9213),
    /// nil for none; `CDN-Cache-Control` applies too when `cdnCacheControl`.
    public var targetedField: String?
    public var cdnCacheControl: Bool
    /// How primary keys are made (`key.ignore_query`, `key.sort_query`).
    public var key: CacheKey
    /// Cache tags (`tag_headers`, `strip_tag_headers`): purge by tag.
    public var tags: CacheTags

    public init(enabled: Bool = false, defaultTTLSeconds: Int64 = 0, graceSeconds: Int64 = 0,
                maxObjectSize: Int = 64 << 20, spoolCapacity: Int? = nil, directory: String = "", durability: BodyDurability = .batched,
                limit: ProxyCacheLimit = ProxyCacheLimit(bytes: 1 << 30, entries: 100_000),
                targetedField: String? = "Capuchin-Cache-Control", cdnCacheControl: Bool = true,
                key: CacheKey = CacheKey(), tags: CacheTags = CacheTags()) {
        self.enabled = enabled
        self.defaultTTLSeconds = defaultTTLSeconds
        self.graceSeconds = graceSeconds
        self.maxObjectSize = maxObjectSize
        self.spoolCapacity = spoolCapacity ?? maxObjectSize * 16
        self.directory = directory
        self.durability = durability
        self.limit = limit
        self.targetedField = targetedField
        self.cdnCacheControl = cdnCacheControl
        self.key = key
        self.tags = tags
    }

    /// Reads the cache mapping (every key read; the caller calls `finish()`).
    /// Throws `ConfigError` naming the file, line and key.
    init(section s: ConfigSection) throws {
        let d = ProxyCacheConfig()
        let enabled = try s.bool("enabled", default: !s.isEmpty)
        let dir = try s.string("dir", default: "")
        if enabled && !dir.hasPrefix("/") {
            throw s.error("dir", "an enabled cache needs an absolute directory")
        }
        let durability = BodyDurability(rawValue: try s.choice("durability", ["sync", "batched"], default: d.durability.rawValue))!
        let capacityBytes = try s.size("capacity_bytes", default: d.limit.bytes, range: 1...(1 << 50))
        let capacityEntries = try s.int("capacity_entries", default: d.limit.entries, range: 1...100_000_000)
        // A response larger than the whole cache could never stay.
        let maxSize = min(capacityBytes, try s.size("max_object_size", default: d.maxObjectSize, range: 1...(1 << 40)))
        let field = try s.string("targeted_field", default: d.targetedField ?? "")
        if !field.isEmpty && !FieldSyntax.isToken(field) {
            throw s.error("targeted_field", "expected a header field name (a token), or \"\" for none")
        }
        let keySection = try s.section("key")
        let ignored = try keySection.stringList("ignore_query", default: [])
        for (i, name) in ignored.enumerated() where name.isEmpty || name.contains("&") || name.contains("=") || name.dropLast().contains("*") {
            throw keySection.error("ignore_query", "entry \(i) (\(name)) is not a query parameter name (a trailing * matches a prefix)")
        }
        let key = CacheKey(ignoredQueryParameters: ignored, sortsQuery: try keySection.bool("sort_query", default: false))
        try keySection.finish()
        let tagFields = try s.stringList("tag_headers", default: d.tags.fields)
        for (i, name) in tagFields.enumerated() where !FieldSyntax.isToken(name) {
            throw s.error("tag_headers", "entry \(i) (\(name)) is not a header field name (a token)")
        }
        let tags = CacheTags(fields: tagFields, strips: try s.bool("strip_tag_headers", default: d.tags.strips))
        self.init(enabled: enabled,
                  defaultTTLSeconds: Int64(try s.duration("default_ttl", default: 0, range: 0...(86400 * 3650))),
                  graceSeconds: Int64(try s.duration("grace", default: 0, range: 0...(86400 * 3650))),
                  maxObjectSize: maxSize,
                  spoolCapacity: try s.size("spool_capacity_bytes", default: maxSize * 16, range: 0...(1 << 50)),
                  directory: dir, durability: durability,
                  limit: ProxyCacheLimit(bytes: capacityBytes, entries: capacityEntries),
                  targetedField: field.isEmpty ? nil : field,
                  cdnCacheControl: try s.bool("cdn_cache_control", default: d.cdnCacheControl), key: key, tags: tags)
    }
}
