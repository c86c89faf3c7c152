// TEMPORARY: the CacheStore types from docs/INTERFACES.md, so FileCache builds
// before the store lands. Deleted when `main` brings the real CacheStore.
public enum EntryKind: UInt8, Sendable { case file = 1, proxied = 2 }

public struct EntryRecord: Sendable, Equatable {
    public var key: String
    public var kind: EntryKind
    public var originPath: String
    public var device: UInt64, inode: UInt64
    public var size: Int64
    public var mtimeNanos: Int64
    public var contentType: String
    public var etag: String
    public var insertedAtNanos: Int64, lastAccessNanos: Int64
    public var accessCount: UInt64
    public var policyState: UInt64, policySequence: UInt64
    public var extra: [UInt8]

    public init(key: String, kind: EntryKind, originPath: String, device: UInt64, inode: UInt64, size: Int64,
                mtimeNanos: Int64, contentType: String, etag: String, insertedAtNanos: Int64, lastAccessNanos: Int64,
                accessCount: UInt64, policyState: UInt64, policySequence: UInt64, extra: [UInt8] = []) {
        self.key = key; self.kind = kind; self.originPath = originPath; self.device = device; self.inode = inode
        self.size = size; self.mtimeNanos = mtimeNanos; self.contentType = contentType; self.etag = etag
        self.insertedAtNanos = insertedAtNanos; self.lastAccessNanos = lastAccessNanos; self.accessCount = accessCount
        self.policyState = policyState; self.policySequence = policySequence; self.extra = extra
    }
}

public enum StoreOperation: Sendable {
    case put(EntryRecord)
    case remove(key: String)
    case removePrefix(String)
    case removeAll
    case touch(key: String, hits: UInt64, lastAccessNanos: Int64, policyState: UInt64, policySequence: UInt64)
    case addCounter(name: String, delta: UInt64)
}
