/// How the store commits admissions: every commit fsynced, or batched.
public enum CacheDurability: String, Sendable, CaseIterable {
    case sync, batched
}

/// The `cache` section of the configuration, validated. Defaults are the
/// values a user gets with an empty section.
public struct FileCacheConfig: Sendable, Equatable {
    public var enabled = true
    /// A `PolicyKind` raw value (lru, lfu, ...).
    public var policy = "default"
    public var capacityBytes = 1 << 30
    public var capacityEntries = 1_000_000
    public var minFileSize = 0
    /// Larger files are never cached: the static handler sends them with sendfile.
    public var maxFileSize = 8 << 20
    /// Lowercased, without the dot; empty: every extension.
    public var includeExtensions: [String] = []
    public var excludeExtensions: [String] = []
    /// MIME type prefixes ("text/", "image/png"); empty: every type.
    public var includeTypes: [String] = []
    /// Empty: every path.
    public var includeGlobs: [GlobPattern] = []
    public var excludeGlobs: [GlobPattern] = []
    /// Seconds an entry may live after admission before it is dropped and the
    /// file is opened again by the static handler; 0: no limit.
    public var ttl = 0.0
    /// Seconds between two stat checks of an entry; 0: on every hit.
    public var revalidateInterval = 0.0
    public var xCacheHeader = true
    /// nil: `<state_dir>/cache`.
    public var cacheDir: String?
    public var commitIntervalMs = 100
    public var durability = CacheDurability.batched
    /// How many of the hottest entries are mapped at start (the rest on first hit).
    public var warmEagerEntries = 1000

    public init() {}

    /// The charge of an entry against its shard's byte budget: its size, but at
    /// least `capacity_bytes / capacity_entries`, so the entry cap holds too.
    public func charge(forSize size: Int) -> Int {
        max(size, max(1, capacityBytes / max(1, capacityEntries)))
    }

    /// Normalises an extension list entry (".CSS" -> "css").
    static func normalizeExtension(_ text: String) -> String {
        var s = Substring(text)
        while s.first == "." { s.removeFirst() }
        return s.lowercased()
    }
}
