/// A change queued for the writer; a batch of them commits as one transaction.
public enum StoreOperation: Sendable {
    /// Insert or replace.
    case put(EntryRecord)
    case remove(key: String)
    case removePrefix(String)
    case removeAll
    /// Adds `hits` to the access count and sets the access fields; no-op when absent.
    case touch(key: String, hits: UInt64, lastAccessNanos: Int64, policyState: UInt64, policySequence: UInt64)
    /// Marks the entry soft-purged at `atNanos` (kept, but stale until
    /// revalidated), rewriting it in the writer's transaction; no-op when absent.
    case softPurge(key: String, atNanos: Int64)
    /// Adds to a persistent counter in `meta`.
    case addCounter(name: String, delta: UInt64)
    /// Sets a value in `meta` (e.g. the eviction policy's global state).
    case setMeta(name: String, value: [UInt8])
}

/// What `stats()` reports.
public struct StoreStats: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int64
    public var mapSize: Int
    public var mapUsed: Int
    public var pageSize: Int
    public var branchPages: Int
    public var leafPages: Int
    public var overflowPages: Int
    public var depth: Int
    public var readers: Int
    public var maxReaders: Int
    /// Wall clock of the last commit, 0 when none.
    public var lastCommitNanos: Int64
    public var createdNanos: Int64
    public var schemaVersion: UInt32
}
