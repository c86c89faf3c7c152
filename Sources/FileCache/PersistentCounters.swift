import CacheStore
import CapuchinSystem
import Synchronization

/// The cache's counters as totals since the store was created: what earlier
/// runs persisted plus this run's, with this run's deltas sent to the store
/// (as `addCounter`) at most once a second and at shutdown.
final class PersistentCounters: Sendable {
    /// Store counter names and the fields they total.
    static let fields: [(name: String, field: WritableKeyPath<FileCacheStats, UInt64>)] = [
        ("cache.hits", \.hits), ("cache.misses", \.misses), ("cache.revalidations", \.revalidations),
        ("cache.stale_drops", \.staleDrops), ("cache.admissions", \.admissions),
        ("cache.rejections_by_rule", \.rejectionsByRule), ("cache.evictions", \.evictions),
        ("cache.bytes_served", \.bytesServed),
    ]
    static let periodNanos: UInt64 = 1_000_000_000

    /// Totals persisted by earlier runs, read at load.
    private let base = Lock(FileCacheStats())
    /// This run's sums as last sent to the store.
    private let sent = Lock(FileCacheStats())
    private let lastSentNanos = Atomic<UInt64>(0)

    /// Reads the persisted totals. Throws the store's error.
    func load(from persistence: CachePersistence) throws {
        var b = FileCacheStats()
        for (name, field) in Self.fields { b[keyPath: field] = try persistence.counter(name) }
        base.withLock { $0 = b }
    }

    /// Adds the persisted totals to this run's sums.
    func addBase(to stats: inout FileCacheStats) {
        let b = base.withLock { $0 }
        for (_, field) in Self.fields { stats[keyPath: field] &+= b[keyPath: field] }
    }

    /// Whether a periodic send is due at monotonic time `now` (one atomic load).
    @inline(__always)
    func due(now: UInt64) -> Bool { now &- lastSentNanos.load(ordering: .relaxed) >= Self.periodNanos }

    /// Enqueues the deltas between `current` (this run's sums) and what was sent.
    func send(_ current: FileCacheStats, to persistence: CachePersistence, now: UInt64) {
        lastSentNanos.store(now, ordering: .relaxed)
        let ops: [StoreOperation] = sent.withLock { last in
            var ops: [StoreOperation] = []
            for (name, field) in Self.fields where current[keyPath: field] > last[keyPath: field] {
                ops.append(.addCounter(name: name, delta: current[keyPath: field] - last[keyPath: field]))
                last[keyPath: field] = current[keyPath: field]
            }
            return ops
        }
        for op in ops { persistence.enqueue(op) }
    }
}
