import CacheStore
/// What the cache needs of its store (the LMDB `CacheStore` in production).
/// `enqueue` is called from request paths and must not block.
public protocol CachePersistence: AnyObject {
    func enqueue(_ op: StoreOperation)
    /// Commits everything queued and waits. Throws the store's error.
    func flush() throws
    /// Every record (prefix nil) or those whose key starts with `prefix`. Throws the store's error.
    func entries(prefix: String?) throws -> [EntryRecord]
    /// Every record of `kind` (the others are skipped undecoded where the store can). Throws the store's error.
    func entries(kind: EntryKind) throws -> [EntryRecord]
    /// The record stored under `key`, if any. Throws the store's error.
    func entry(key: String) throws -> EntryRecord?
    /// A named blob kept beside the index (the policies' global state). Throws the store's error.
    func loadBlob(_ name: String) throws -> [UInt8]?
    func saveBlob(_ name: String, _ bytes: [UInt8])
    /// A persistent counter (0 when never added to). Throws the store's error.
    func counter(_ name: String) throws -> UInt64
    /// Flushes and stops the store's writer (at shutdown).
    func close()
}

extension CachePersistence {
    public func close() {}
    public func entry(key: String) throws -> EntryRecord? { try entries(prefix: key).first { $0.key == key } }
    public func entries(kind: EntryKind) throws -> [EntryRecord] { try entries(prefix: nil).filter { $0.kind == kind } }
}
