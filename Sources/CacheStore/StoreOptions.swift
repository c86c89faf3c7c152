/// How the store trades durability for speed.
public enum Durability: String, Sendable, CaseIterable {
    /// fsync on every commit: a committed batch survives power loss.
    case sync
    /// Commits skip the metadata fsync (MDB_NOMETASYNC) and the writer syncs
    /// once a second: a process crash (kill -9) loses nothing committed; a power
    /// loss or kernel crash may undo the last second of commits, never corrupt.
    case batched
}

/// Options for opening a store.
public struct StoreOptions: Sendable {
    /// Initial map size (sparse: disk use follows the data).
    public var mapSize: Int = 1 << 30
    /// The map doubles on MDB_MAP_FULL up to this size.
    public var maxMapSize: Int = 64 << 30
    /// How long queued operations wait before the writer commits them.
    public var commitIntervalMillis: Int = 100
    /// Commit early once this many operations are queued.
    public var maxBatch: Int = 10_000
    public var durability: Durability = .batched
    /// Open read-only (cachedump): never creates, never writes.
    public var readOnly: Bool = false

    public init() {}
}
