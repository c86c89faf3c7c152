import CacheStore
import CapuchinSystem
import Synchronization

/// Counters as totals since the store was created: what earlier runs
/// persisted plus this run's, with this run's deltas sent to the store (as
/// `addCounter`) at most once a second and at shutdown. One per set of
/// counters: the file cache's (`FileCacheStats`) and compression's (`CompressionStats`).
final class PersistentCounters<Stats>: @unchecked Sendable { // safe: lets, and the two values under their locks
    /// Store counter names and the fields they total.
    let fields: [(name: String, field: WritableKeyPath<Stats, UInt64>)]
    static var periodNanos: UInt64 { 1_000_000_000 }

    /// Totals persisted by earlier runs, read at load.
    private let base: Lock<Stats>
    /// This run's sums as last sent to the store.
    private let sent: Lock<Stats>
    private let lastSentNanos = Atomic<UInt64>(0)

    /// `zero`: the stats with every field 0.
    init(fields: [(name: String, field: WritableKeyPath<Stats, UInt64>)], zero: Stats) {
        self.fields = fields
        base = Lock(zero)
        sent = Lock(zero)
    }

    /// Reads the persisted totals. Throws the store's error.
    func load(from persistence: CachePersistence) throws {
        var b = base.withLock { $0 }
        for (name, field) in fields { b[keyPath: field] = try persistence.counter(name) }
        base.withLock { $0 = b }
    }

    /// Adds the persisted totals to this run's sums.
    func addBase(to stats: inout Stats) {
        let b = base.withLock { $0 }
        for (_, field) in fields { stats[keyPath: field] &+= b[keyPath: field] }
    }

    /// Whether a periodic send is due at monotonic time `now` (one atomic load).
    @inline(__always)
    func due(now: UInt64) -> Bool { now &- lastSentNanos.load(ordering: .relaxed) >= Self.periodNanos }

    /// Enqueues the deltas between `current` (this run's sums) and what was sent.
    func send(_ current: Stats, to persistence: CachePersistence, now: UInt64) {
        lastSentNanos.store(now, ordering: .relaxed)
        let ops: [StoreOperation] = sent.withLock { last in
            var ops: [StoreOperation] = []
            for (name, field) in fields where current[keyPath: field] > last[keyPath: field] {
                ops.append(.addCounter(name: name, delta: current[keyPath: field] - last[keyPath: field]))
                last[keyPath: field] = current[keyPath: field]
            }
            return ops
        }
        for op in ops { persistence.enqueue(op) }
    }
}

extension FileCacheStats {
    /// The file cache's counters kept in the store, by name.
    static let persisted: [(name: String, field: WritableKeyPath<FileCacheStats, UInt64>)] = [
        ("cache.hits", \.hits), ("cache.misses", \.misses), ("cache.revalidations", \.revalidations),
        ("cache.stale_drops", \.staleDrops), ("cache.admissions", \.admissions),
        ("cache.rejections_by_rule", \.rejectionsByRule), ("cache.evictions", \.evictions),
        ("cache.bytes_served", \.bytesServed),
    ]
}
