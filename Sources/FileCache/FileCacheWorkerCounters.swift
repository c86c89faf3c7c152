import Synchronization
import CapuchinSystem

/// The counters one worker bumps. Each worker has its own slot, padded so two
/// workers' slots never share a cache line; readers sum the slots.
final class FileCacheWorkerCounters: Sendable {
    let hits = Atomic<UInt64>(0)
    let misses = Atomic<UInt64>(0)
    let revalidations = Atomic<UInt64>(0)
    let staleDrops = Atomic<UInt64>(0)
    let admissions = Atomic<UInt64>(0)
    let rejectionsByRule = Atomic<UInt64>(0)
    let evictions = Atomic<UInt64>(0)
    let bytesServed = Atomic<UInt64>(0)
    // 8 counters + header = 80 bytes; pad past a 128-byte pair of lines.
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
}

/// A snapshot of the cache's counters (summed over workers) and occupancy.
public struct FileCacheStats: Sendable, Equatable {
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var revalidations: UInt64 = 0
    public var staleDrops: UInt64 = 0
    public var admissions: UInt64 = 0
    public var rejectionsByRule: UInt64 = 0
    public var evictions: UInt64 = 0
    public var bytesServed: UInt64 = 0
    public var entries: Int = 0
    public var bytes: Int = 0
    public var capacityBytes: Int = 0
    public var capacityEntries: Int = 0

    public init() {}
}

/// Per-worker slots, indexed by worker id (ids past the end share slots
/// modulo the count; callers outside workers use slot 0).
final class CounterTable: Sendable {
    private let slots: UnretainedReferences<FileCacheWorkerCounters>

    init(workers: Int) { slots = UnretainedReferences((0..<max(1, workers)).map { _ in FileCacheWorkerCounters() }) }

    @inline(__always)
    subscript(worker: Int) -> FileCacheWorkerCounters { slots.elements[Self.slot(worker, slots.count)] }

    /// Calls `body` with the worker's slot, not retained (the hit path).
    @inline(__always)
    func with<R>(worker: Int, _ body: (FileCacheWorkerCounters) -> R) -> R { slots.with(Self.slot(worker, slots.count), body) }

    @inline(__always)
    private static func slot(_ worker: Int, _ count: Int) -> Int { worker >= 0 ? worker % count : 0 }

    /// Sums every slot into `stats`' counter fields.
    func sum(into stats: inout FileCacheStats) {
        for s in slots.elements {
            stats.hits += s.hits.load(ordering: .relaxed)
            stats.misses += s.misses.load(ordering: .relaxed)
            stats.revalidations += s.revalidations.load(ordering: .relaxed)
            stats.staleDrops += s.staleDrops.load(ordering: .relaxed)
            stats.admissions += s.admissions.load(ordering: .relaxed)
            stats.rejectionsByRule += s.rejectionsByRule.load(ordering: .relaxed)
            stats.evictions += s.evictions.load(ordering: .relaxed)
            stats.bytesServed += s.bytesServed.load(ordering: .relaxed)
        }
    }
}
