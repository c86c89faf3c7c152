import CachePolicies
import CapuchinServer
import CapuchinSystem

/// Opens the persistent index in a directory (the LMDB `CacheStore` in
/// production); nil runs the cache without persistence.
public typealias CacheStoreOpener = (_ directory: String, _ config: FileCacheConfig, _ log: ErrorLog) throws -> CachePersistence?

extension FileCachePlugin {
    /// The catalog entry `capuchin`'s main registers (before the static handler),
    /// persisting to the LMDB store. `onCreate` hands the new plugin to whoever
    /// needs its cache (the admin backend).
    public static func factory(openStore: @escaping CacheStoreOpener = StorePersistence.open,
                               onCreate: @escaping (FileCachePlugin) -> Void = { _ in }) -> PluginFactory {
        PluginFactory(name: "cache", enabledByDefault: true) { setup in
            let plugin = try make(setup, openStore: openStore)
            setup.serveFiles(from: plugin.source)
            onCreate(plugin)
            return plugin
        }
    }

    /// Validates the `cache` section, creates the cache directory (`dir` /
    /// `cache_dir`, `--cache-dir`, default `<state_dir>/cache`), opens the
    /// store and starts loading the index on its own thread (served meanwhile by point reads: FileCache+Warming). Throws `ConfigError` for a bad
    /// section, `SystemError` when the directory cannot be created, and what
    /// `openStore` or the store's reads throw.
    public static func make(_ setup: PluginSetup, openStore: CacheStoreOpener) throws -> FileCachePlugin {
        let config = try FileCacheConfig(section: setup.section)
        let log = setup.log
        // Small files are copied into slabs; only files over the snapshot limit
        // are mapped, one mapping each: warn when the byte budget could hold
        // more of them than vm.max_map_count leaves (the excess is served uncached).
        var mappingLimit = Int.max
        if let maps = MapCountLimit.current() {
            mappingLimit = max(1, maps - mapReserve)
            let mappable = config.capacityBytes / (FileCache.snapshotLimit + 1)
            if min(mappable, config.capacityEntries) > mappingLimit {
                log.warn("cache: capacity_bytes \(config.capacityBytes) holds up to \(mappable) files over "
                         + "\(FileCache.snapshotLimit) bytes, one mapping each, but vm.max_map_count \(maps) allows "
                         + "\(mappingLimit); larger files past that are served uncached. Raise it with "
                         + "`sysctl -w vm.max_map_count=262144` (as Elasticsearch asks) to cache more of them.")
            }
        }
        var persistence: CachePersistence?
        if config.enabled {
            let dir = config.cacheDir ?? ConfigLoader.resolve("cache", against: setup.config.stateDir)
            try FileSystem.makeDirectories(dir)
            persistence = try openStore(dir, config, log)
        }
        let kind = PolicyKind(rawValue: config.policy) ?? .default
        let cache = FileCache(config: config, persistence: persistence, workers: 256, mappingLimit: mappingLimit,
                              policyFactory: { makePolicy(kind, capacity: $0) }, log: { log.info($0) })
        // Set before the first operation is queued, so the writer only ever reads it.
        (persistence as? StorePersistence)?.store.onFull = { [weak cache] in cache?.shed(fraction: 0.1) }
        // The server listens while the index loads (see FileCache+Warming).
        try cache.startLoading { log.error("cache: loading the index failed: \($0)") }
        return FileCachePlugin(cache: cache)
    }

    /// Mappings left for everything else (libraries, thread stacks, heap, LMDB).
    static let mapReserve = 2000
}
