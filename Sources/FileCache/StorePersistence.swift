import CacheStore
import CapuchinServer
import CapuchinSystem

/// The LMDB `CacheStore` as the file cache's persistence.
public final class StorePersistence: CachePersistence, Sendable {
    public let store: CacheStore

    public init(_ store: CacheStore) { self.store = store }

    /// Opens (or creates) the store in `directory` with the section's commit
    /// interval and durability. Throws `StoreError` (a schema mismatch names
    /// the directory; `cachedump reset` is the documented way out).
    public static func open(directory: String, config: FileCacheConfig, log: ErrorLog) throws -> CachePersistence? {
        var options = StoreOptions()
        options.commitIntervalMillis = config.commitIntervalMs
        options.durability = config.durability == .sync ? .sync : .batched
        return StorePersistence(try CacheStore(directory: directory, options: options, log: { log.info($0) },
                                               warn: { log.warn($0) }))
    }

    public func enqueue(_ op: StoreOperation) { store.enqueue(op) }
    public func flush() throws { try store.flush() }
    /// Runs `body` just before the store closes: compression's last counter
    /// deltas (its plugin stops after the cache's, which closes the store).
    public func beforeClose(_ body: @escaping @Sendable () -> Void) { closing.withLock { $0.append(body) } }
    private let closing = Lock<[@Sendable () -> Void]>([])

    public func close() {
        for body in closing.withLock({ $0 }) { body() }
        store.close()
    }
    public func entries(prefix: String?) throws -> [EntryRecord] { try store.entries(prefix: prefix) }
    public func entry(key: String) throws -> EntryRecord? { try store.get(key) }
    public func entries(kind: EntryKind) throws -> [EntryRecord] {
        var out: [EntryRecord] = []
        try store.forEachEntry(kind: kind) { out.append(try $0.get()); return true }
        return out
    }
    public func counter(_ name: String) throws -> UInt64 { try store.counter(name) }
    public func loadBlob(_ name: String) throws -> [UInt8]? { try store.meta(name) }
    public func saveBlob(_ name: String, _ bytes: [UInt8]) { store.enqueue(.setMeta(name: name, value: bytes)) }
}
