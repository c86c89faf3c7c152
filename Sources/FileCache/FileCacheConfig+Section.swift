import CachePolicies
import CapuchinServer

extension FileCacheConfig {
    /// Reads and validates the `cache` section. Throws `ConfigError` naming
    /// the file, line and key: an unknown key, a value of the wrong type or out
    /// of range, an unknown policy, an empty extension or glob, both `dir` and
    /// `cache_dir`, or `min_file_size` above `max_file_size`.
    public init(section s: ConfigSection) throws {
        self.init()
        enabled = try s.bool("enabled", default: enabled)
        policy = try s.choice("policy", PolicyKind.allCases.map(\.rawValue), default: policy)
        capacityBytes = try s.size("capacity_bytes", default: capacityBytes, range: 1...(1 << 50))
        capacityEntries = try s.int("capacity_entries", default: capacityEntries, range: 1...100_000_000)
        minFileSize = try s.size("min_file_size", default: minFileSize, range: 0...(1 << 40))
        maxFileSize = try s.size("max_file_size", default: maxFileSize, range: 0...(1 << 40))
        if minFileSize > maxFileSize {
            throw s.error("min_file_size", "is larger than max_file_size (\(maxFileSize))")
        }
        includeExtensions = try Self.extensions(s, "include_extensions")
        excludeExtensions = try Self.extensions(s, "exclude_extensions")
        includeTypes = try s.stringList("include_types", default: [])
        if includeTypes.contains(where: \.isEmpty) { throw s.error("include_types", "empty MIME type prefix") }
        includeGlobs = try Self.globs(s, "include_globs")
        excludeGlobs = try Self.globs(s, "exclude_globs")
        ttl = try s.duration("ttl", default: ttl, range: 0...(10 * 365 * 86400))
        revalidateInterval = try s.duration("revalidate_interval", default: revalidateInterval, range: 0...86400)
        xCacheHeader = try s.bool("x_cache_header", default: xCacheHeader)
        let dir = try s.optionalString("dir")
        let cacheDirKey = try s.optionalString("cache_dir")
        if dir != nil && cacheDirKey != nil { throw s.error("cache_dir", "give dir or cache_dir, not both") }
        cacheDir = dir ?? cacheDirKey
        if cacheDir == "" { throw s.error(dir != nil ? "dir" : "cache_dir", "empty directory") }
        commitIntervalMs = try s.int("commit_interval_ms", default: commitIntervalMs, range: 1...60_000)
        durability = CacheDurability(rawValue: try s.choice("durability", CacheDurability.allCases.map(\.rawValue),
                                                            default: durability.rawValue))!
        warmEagerEntries = try s.int("warm_eager_entries", default: warmEagerEntries, range: 0...100_000_000)
        try s.finish()
    }

    private static func extensions(_ s: ConfigSection, _ key: String) throws -> [String] {
        let list = try s.stringList(key, default: []).map(normalizeExtension)
        if list.contains(where: \.isEmpty) { throw s.error(key, "empty extension") }
        return list
    }

    private static func globs(_ s: ConfigSection, _ key: String) throws -> [GlobPattern] {
        let list = try s.stringList(key, default: [])
        if list.contains(where: \.isEmpty) { throw s.error(key, "empty glob pattern") }
        return list.map(GlobPattern.init)
    }
}
