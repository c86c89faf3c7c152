import CachePolicies
import CacheStore

/// The body store's index in the LMDB `CacheStore`: entries of kind
/// `.proxied`, `originPath` = body file, `extra` = encoded status and headers,
/// tags and the soft-purge time as the record's own (the store indexes the tags).
final class CacheStoreIndex: ProxyIndex {
    let store: CacheStore

    init(store: CacheStore) { self.store = store }

    func put(_ e: ProxyIndexEntry) { store.enqueue(.put(Self.record(e))) }

    func put(contentsOf entries: [ProxyIndexEntry]) { store.enqueue(contentsOf: entries.map { .put(Self.record($0)) }) }

    func remove(key: String) { store.enqueue(.remove(key: key)) }

    func remove(keys: [String]) { store.enqueue(contentsOf: keys.map { .remove(key: $0) }) }

    private static func record(_ e: ProxyIndexEntry) -> EntryRecord {
        EntryRecord(key: e.key, kind: .proxied, originPath: e.bodyPath, size: e.size, contentType: e.contentType, etag: e.etag,
                    insertedAtNanos: e.insertedAtNanos, lastAccessNanos: e.insertedAtNanos, policyState: e.policy?.word ?? 0,
                    policySequence: e.policy?.sequence ?? 0, extra: e.extra, tags: e.tags, softPurgedAtNanos: e.softPurgedAtNanos)
    }

    /// Throws the store's `StoreError` when the index cannot be read.
    func proxiedEntries() throws -> [ProxyIndexEntry] { try proxiedEntries(prefix: ProxyBodyStore.keyPrefix) }

    /// A seek to `prefix` that reads only its records (`CacheStore.forEachEntry(prefix:)`).
    /// Throws the store's `StoreError` when the index cannot be read.
    func proxiedEntries(prefix: String) throws -> [ProxyIndexEntry] {
        try store.entries(prefix: prefix).filter { $0.kind == .proxied }.map(Self.entry)
    }

    /// One pass over the proxied records in key order, each decoded once
    /// (`CacheStore.forEachEntry`: no array of records, no sort); records of
    /// other kinds are skipped before decoding. Throws the store's `StoreError`.
    func forEachProxiedEntry(_ body: (ProxyIndexEntry) -> Void) throws -> Int {
        var undecodable = 0
        try store.forEachEntry(prefix: ProxyBodyStore.keyPrefix, kind: .proxied) { result in
            if case .success(let r) = result { body(Self.entry(r)) } else { undecodable += 1 }
            return true
        }
        return undecodable
    }

    private static func entry(_ r: EntryRecord) -> ProxyIndexEntry {
        ProxyIndexEntry(key: r.key, bodyPath: r.originPath, size: r.size, etag: r.etag, contentType: r.contentType,
                        insertedAtNanos: r.insertedAtNanos, extra: r.extra, tags: r.tags, softPurgedAtNanos: r.softPurgedAtNanos,
                        policy: policy(of: r))
    }

    // MARK: popularity (`ProxyBodyStore+Popularity`)

    func touch(key: String, hits: UInt64, lastAccessNanos: Int64, policy: PolicyEntryState) {
        store.enqueue(.touch(key: key, hits: hits, lastAccessNanos: lastAccessNanos, policyState: policy.word, policySequence: policy.sequence))
    }

    func loadBlob(_ name: String) throws -> [UInt8]? { try store.meta(name) }

    func saveBlob(_ name: String, _ bytes: [UInt8]) { store.enqueue(.setMeta(name: name, value: bytes)) }

    /// A record's saved policy state; sequence 0 means none (the policies'
    /// stamps start at 1; records written before states were kept hold 0).
    private static func policy(of r: EntryRecord) -> PolicyEntryState? {
        r.policySequence == 0 ? nil : PolicyEntryState(word: r.policyState, sequence: r.policySequence)
    }

    /// The store's tag index, after committing what is queued (a response stored
    /// a moment ago is found); nil when the store does not persist (no index to ask).
    /// Throws the store's `StoreError`.
    func keys(taggedWith tags: [String]) throws -> [String]? {
        guard store.notPersistingReason == nil else { return nil }
        try store.flush()
        return try store.keys(taggedWith: tags).filter { $0.hasPrefix(ProxyBodyStore.keyPrefix) }
    }

    /// A seek to `prefix`, reading the keys without decoding the records; nil
    /// when the store does not persist. Throws the store's `StoreError`.
    func keys(prefix: String) throws -> [String]? {
        guard store.notPersistingReason == nil else { return nil }
        return try store.keys(prefix: prefix, kind: .proxied)
    }

    /// Throws the store's `StoreError` when the commit fails.
    func flush() throws { try store.flush() }
}
