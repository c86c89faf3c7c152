import CachePolicies

/// One stored response in the persistent index: where its body file is and
/// its encoded metadata (`StoredResponseCodec`).
public struct ProxyIndexEntry: Sendable, Equatable {
    public var key: String
    public var bodyPath: String
    public var size: Int64
    public var etag: String
    public var contentType: String
    public var insertedAtNanos: Int64
    /// `StoredResponseCodec.encode`: status, stored headers, times, Vary key.
    public var extra: [UInt8]
    /// Cache tags (`CacheTags`), indexed by the store for purges by tag.
    public var tags: [String]
    /// When it was soft-purged (stale until revalidated), 0 when not.
    public var softPurgedAtNanos: Int64
    /// The eviction policy's state when it was last saved; nil: none saved
    /// (a record written before it was kept).
    public var policy: PolicyEntryState?

    public init(key: String, bodyPath: String, size: Int64, etag: String, contentType: String, insertedAtNanos: Int64, extra: [UInt8],
                tags: [String] = [], softPurgedAtNanos: Int64 = 0, policy: PolicyEntryState? = nil) {
        self.key = key
        self.bodyPath = bodyPath
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.insertedAtNanos = insertedAtNanos
        self.extra = extra
        self.tags = tags
        self.softPurgedAtNanos = softPurgedAtNanos
        self.policy = policy
    }
}

/// The part of the LMDB CacheStore the body store uses. CacheStore conforms
/// through an adapter (entries of kind `.proxied`, originPath = body path,
/// `extra` as is); keeping this seam small lets the recovery logic be tested
/// on its own.
public protocol ProxyIndex: AnyObject {
    /// Queue an insert-or-replace (cheap; durable after the next commit).
    func put(_ entry: ProxyIndexEntry)
    /// Queue a removal.
    func remove(key: String)
    /// Every proxied entry. Throws when the index cannot be read.
    func proxiedEntries() throws -> [ProxyIndexEntry]
    /// Calls `body` with every proxied entry as it is read (the load: a million
    /// are neither sorted nor held twice); returns how many records could not
    /// be decoded (skipped). Throws when the index cannot be read.
    func forEachProxiedEntry(_ body: (ProxyIndexEntry) -> Void) throws -> Int
    /// The proxied entries whose key starts with `prefix` (one primary key's
    /// variants). Throws when the index cannot be read.
    func proxiedEntries(prefix: String) throws -> [ProxyIndexEntry]
    /// Commit everything queued. Throws when the commit fails.
    func flush() throws
    /// The keys of the entries carrying any of `tags`, from the index's own tag
    /// index; nil when it keeps none (the caller looks in memory). Throws when
    /// the index cannot be read.
    func keys(taggedWith tags: [String]) throws -> [String]?
    /// The keys of the proxied entries whose key starts with `prefix`, as
    /// committed; nil when the index keeps none (the caller looks in memory).
    /// Throws when the index cannot be read.
    func keys(prefix: String) throws -> [String]?
    /// Queue inserts-or-replaces that commit together (one transaction).
    func put(contentsOf entries: [ProxyIndexEntry])
    /// Queue removals that commit together (one transaction).
    func remove(keys: [String])
    /// Queue an update of a stored entry's policy state, adding `hits` to its
    /// hit count (nothing when the entry is gone by then).
    func touch(key: String, hits: UInt64, lastAccessNanos: Int64, policy: PolicyEntryState)
    /// A blob saved beside the entries (the policy's global state); nil when
    /// none. Throws when the index cannot be read.
    func loadBlob(_ name: String) throws -> [UInt8]?
    /// Queue the saving of a blob.
    func saveBlob(_ name: String, _ bytes: [UInt8])
}

extension ProxyIndex {
    public func keys(taggedWith tags: [String]) throws -> [String]? { nil }

    public func keys(prefix: String) throws -> [String]? { try proxiedEntries(prefix: prefix).map(\.key) }

    public func put(contentsOf entries: [ProxyIndexEntry]) { for e in entries { put(e) } }

    public func forEachProxiedEntry(_ body: (ProxyIndexEntry) -> Void) throws -> Int {
        for e in try proxiedEntries() { body(e) }
        return 0
    }

    public func remove(keys: [String]) { for k in keys { remove(key: k) } }

    /// Indexes that keep no popularity: restarts fall back to insertion order.
    public func touch(key: String, hits: UInt64, lastAccessNanos: Int64, policy: PolicyEntryState) {}
    public func loadBlob(_ name: String) throws -> [UInt8]? { nil }
    public func saveBlob(_ name: String, _ bytes: [UInt8]) {}

    /// A scan of every entry, for indexes without a prefix search.
    public func proxiedEntries(prefix: String) throws -> [ProxyIndexEntry] {
        try proxiedEntries().filter { $0.key.hasPrefix(prefix) }
    }
}
