import CapuchinServer
import CapuchinSystem

/// The `compression` plugin: puts a `CompressingFileSource` around the file
/// source installed before it (the file cache's, or the direct opener), with
/// its variants stored beside the cache's index when the cache persists. It
/// answers no request itself; it stops its compression thread at shutdown.
public final class CompressionPlugin: Plugin, @unchecked Sendable { // safe: lets; the source is thread-safe
    public let name = "compression"
    public let source: CompressingFileSource

    init(source: CompressingFileSource) { self.source = source }

    public var phases: PluginPhases { [] }

    public func serverStopped() { source.stop() }

    /// The catalog entry (registered after the cache's, so it wraps the cache's source).
    /// `onCreate` hands the plugin to whoever shows its counters (the admin backend).
    public static func factory(onCreate: @escaping (CompressionPlugin) -> Void = { _ in }) -> PluginFactory {
        PluginFactory(name: "compression", enabledByDefault: true) { setup in
            let plugin = try make(setup)
            if plugin.source.config.enabled { setup.serveFiles(from: plugin.source) }
            onCreate(plugin)
            return plugin
        }
    }

    /// Validates the section, finds the store of the cache beneath (on-the-fly
    /// variants need it: without the cache only siblings are served) and
    /// starts the compression thread. Throws `ConfigError`, `SystemError`.
    static func make(_ setup: PluginSetup) throws -> CompressionPlugin {
        let config = try CompressionConfig(section: setup.section)
        let inner = setup.fileSource
        var store: VariantStore?
        var capacity = 100_000
        if let cached = inner as? FileCacheSource {
            capacity = cached.cache.config.capacityEntries
            // Small variant and sibling bodies sit in slab slots (VariantStore.slabs), not a
            // mapping each, so vm.max_map_count no longer bounds how many are held.
            if config.enabled, config.onTheFly, let persistence = cached.cache.persistence as? StorePersistence {
                store = try VariantStore(directory: persistence.store.directory + "/variants", persistence: persistence,
                                         marksHits: cached.marksResponses)
            }
        }
        let log = setup.log
        let source = try CompressingFileSource(inner: inner, config: config, store: store, capacity: capacity,
                                               log: { log.info($0) })
        if config.enabled { try source.start() }
        return CompressionPlugin(source: source)
    }
}
