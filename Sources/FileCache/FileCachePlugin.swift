import CapuchinServer

/// The `cache` plugin: puts the file cache beneath the static handler (its
/// `FileCacheSource`, installed by the factory) and persists the cache when
/// the server stops. It answers no request itself.
public final class FileCachePlugin: Plugin, @unchecked Sendable {
    public let name = "cache"
    public let cache: FileCache
    /// What the static handler serves files from while this plugin runs.
    public let source: FileCacheSource

    public init(cache: FileCache) {
        self.cache = cache
        source = FileCacheSource(cache: cache)
    }

    /// It answers no request: no request phase visits it.
    public var phases: PluginPhases { [] }

    /// After the last worker stopped: hit counts, policy state and counters go
    /// to the store, which is flushed (a SIGTERM stop loses nothing).
    public func serverStopped() { shutdown() }

    /// Persists and flushes; errors are logged.
    public func shutdown() {
        // A half-loaded index must not overwrite the stored policy state.
        cache.waitUntilLoaded()
        do { try cache.persistState() } catch { cache.log("cache: flushing the store failed: \(error)") }
        cache.persistence?.close()
    }
}
