/// What a cache entry is.
public enum EntryKind: UInt8, Sendable, CaseIterable {
    /// A file served from its origin path.
    case file = 1
    /// A proxied response whose body is a file under the cache directory.
    case proxied = 2
    /// A compressed variant of a file or response: its body is a file under
    /// the cache directory, `extra` names its coding and its source's version.
    case variant = 3
}

/// One cache entry as stored.
public struct EntryRecord: Sendable, Equatable {
    /// Any length; keys over LMDB's 511-byte limit are stored under a hash.
    public var key: String
    public var kind: EntryKind
    /// file: the origin path; proxied: the body file's path.
    public var originPath: String
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtimeNanos: Int64
    public var contentType: String
    public var etag: String
    /// Wall clock, nanoseconds since the epoch.
    public var insertedAtNanos: Int64
    public var lastAccessNanos: Int64
    public var accessCount: UInt64
    /// The eviction policy's per-entry state.
    public var policyState: UInt64
    public var policySequence: UInt64
    /// Opaque to the store (the proxy keeps status and headers here).
    public var extra: [UInt8]
    /// Cache tags (`Surrogate-Key`, `Cache-Tag`): the store keeps a tag -> key
    /// index of them in the same transaction as the record (`keys(taggedWith:)`).
    public var tags: [String]
    /// When the entry was soft-purged (wall clock, ns): kept but stale until
    /// revalidated; 0 when it was not.
    public var softPurgedAtNanos: Int64

    public init(key: String, kind: EntryKind = .file, originPath: String, device: UInt64 = 0, inode: UInt64 = 0,
                size: Int64, mtimeNanos: Int64 = 0, contentType: String = "", etag: String = "",
                insertedAtNanos: Int64 = 0, lastAccessNanos: Int64 = 0, accessCount: UInt64 = 0,
                policyState: UInt64 = 0, policySequence: UInt64 = 0, extra: [UInt8] = [],
                tags: [String] = [], softPurgedAtNanos: Int64 = 0) {
        self.key = key
        self.kind = kind
        self.originPath = originPath
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNanos = mtimeNanos
        self.contentType = contentType
        self.etag = etag
        self.insertedAtNanos = insertedAtNanos
        self.lastAccessNanos = lastAccessNanos
        self.accessCount = accessCount
        self.policyState = policyState
        self.policySequence = policySequence
        self.extra = extra
        self.tags = tags
        self.softPurgedAtNanos = softPurgedAtNanos
    }
}
