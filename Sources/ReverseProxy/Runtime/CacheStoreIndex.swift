import CacheStore

/// The body store's index in the LMDB `CacheStore`: entries of kind
/// `.proxied`, `originPath` = body file, `extra` = encoded status and headers.
final class CacheStoreIndex: ProxyIndex {
    let store: CacheStore

    init(store: CacheStore) { self.store = store }

    func put(_ e: ProxyIndexEntry) {
        store.enqueue(.put(EntryRecord(key: e.key, kind: .proxied, originPath: e.bodyPath, size: e.size,
                                       contentType: e.contentType, etag: e.etag, insertedAtNanos: e.insertedAtNanos,
                                       lastAccessNanos: e.insertedAtNanos, extra: e.extra)))
    }

    func remove(key: String) { store.enqueue(.remove(key: key)) }

    /// Throws the store's `StoreError` when the index cannot be read.
    func proxiedEntries() throws -> [ProxyIndexEntry] { try proxiedEntries(prefix: ProxyBodyStore.keyPrefix) }

    /// A seek to `prefix` that reads only its records (`CacheStore.forEachEntry(prefix:)`).
    /// Throws the store's `StoreError` when the index cannot be read.
    func proxiedEntries(prefix: String) throws -> [ProxyIndexEntry] {
        try store.entries(prefix: prefix).filter { $0.kind == .proxied }.map {
            ProxyIndexEntry(key: $0.key, bodyPath: $0.originPath, size: $0.size, etag: $0.etag, contentType: $0.contentType,
                            insertedAtNanos: $0.insertedAtNanos, extra: $0.extra)
        }
    }

    /// Throws the store's `StoreError` when the commit fails.
    func flush() throws { try store.flush() }
}
