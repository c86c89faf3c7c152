import CapuchinSystem
import Synchronization

/// What compression did this run, for /api/stats, /metrics and the dashboard.
public struct CompressionStats: Sendable, Equatable {
    /// Variants compressed and stored (files written under the cache directory).
    public var variantsStored: UInt64 = 0
    /// Identity and encoded bytes of the variants compressed.
    public var bytesBefore: UInt64 = 0
    public var bytesAfter: UInt64 = 0
    /// Compressions run (background and inline), and their thread CPU time.
    public var compressions: UInt64 = 0
    public var inlineCompressions: UInt64 = 0
    public var compressionCPUNanos: UInt64 = 0
    /// Responses with an encoded body: stored variants, and precompressed siblings.
    public var variantHits: UInt64 = 0
    public var siblingHits: UInt64 = 0
    /// Identity size minus encoded size, summed over encoded responses (GET).
    public var bytesSaved: UInt64 = 0
    /// Compressions refused (the encoded body was not smaller) or failed.
    public var refused: UInt64 = 0
    /// Background jobs dropped because the queue was full.
    public var queueFull: UInt64 = 0

    public init() {}

    /// The counters kept in the cache's store, by name (totals since the store was created).
    static let persisted: [(name: String, field: WritableKeyPath<CompressionStats, UInt64>)] = [
        ("compression.variants_stored", \.variantsStored), ("compression.bytes_before", \.bytesBefore),
        ("compression.bytes_after", \.bytesAfter), ("compression.compressions", \.compressions),
        ("compression.inline_compressions", \.inlineCompressions), ("compression.cpu_nanos", \.compressionCPUNanos),
        ("compression.variant_hits", \.variantHits), ("compression.sibling_hits", \.siblingHits),
        ("compression.bytes_saved", \.bytesSaved), ("compression.refused", \.refused),
        ("compression.queue_full", \.queueFull),
    ]
}

/// The counters behind `CompressionStats`: relaxed atomics, added to from any
/// thread. With a store, totals since the store was created (as the file
/// cache's): earlier runs' read at start, this run's deltas sent at most once
/// a second by the compression thread and as the store closes.
final class CompressionCounters: @unchecked Sendable { // safe: atomics and lets; the persistence is thread-safe
    let variantsStored = Atomic<UInt64>(0)
    let bytesBefore = Atomic<UInt64>(0)
    let bytesAfter = Atomic<UInt64>(0)
    let compressions = Atomic<UInt64>(0)
    let inlineCompressions = Atomic<UInt64>(0)
    let compressionCPUNanos = Atomic<UInt64>(0)
    /// The counters of encoded responses, bumped on every one: a slot per
    /// worker (the last shared by callers without one), so two workers never
    /// take one cache line from each other on a hit.
    /// Per worker, reached without a retain (see UnretainedReferences).
    private let served: UnretainedReferences<ServedCounters>
    let refused = Atomic<UInt64>(0)
    let queueFull = Atomic<UInt64>(0)

    let totals = PersistentCounters(fields: CompressionStats.persisted, zero: CompressionStats())
    private let persistence: CachePersistence?

    init(workers: Int = 64, persistence: CachePersistence? = nil) {
        served = UnretainedReferences((0...workers).map { _ in ServedCounters() })
        self.persistence = persistence
    }

    /// Reads earlier runs' totals. Throws the store's error.
    func loadTotals() throws {
        if let persistence { try totals.load(from: persistence) }
    }

    /// Sends this run's deltas to the store when a second passed since the last send (or at once: `force`).
    func persist(force: Bool = false) {
        guard let persistence else { return }
        let now = Clock.monotonicNanos()
        if force || totals.due(now: now) { totals.send(thisRun, to: persistence, now: now) }
    }

    /// An encoded response of `savedBytes` fewer bytes than identity.
    @inline(__always)
    func served(sibling: Bool, savedBytes: Int, worker: Int) {
        served.with(worker >= 0 && worker < served.count - 1 ? worker : served.count - 1) { slot in
            slot.bytesSaved.wrappingAdd(UInt64(max(0, savedBytes)), ordering: .relaxed)
            if sibling { slot.siblingHits.wrappingAdd(1, ordering: .relaxed) } else { slot.variantHits.wrappingAdd(1, ordering: .relaxed) }
        }
    }

    func compressed(before: Int, after: Int, cpuSeconds: Double, inline: Bool) {
        compressions.wrappingAdd(1, ordering: .relaxed)
        if inline { inlineCompressions.wrappingAdd(1, ordering: .relaxed) }
        compressionCPUNanos.wrappingAdd(UInt64(max(0, cpuSeconds * 1e9)), ordering: .relaxed)
        bytesBefore.wrappingAdd(UInt64(before), ordering: .relaxed)
        bytesAfter.wrappingAdd(UInt64(after), ordering: .relaxed)
    }

    /// This run's counts plus earlier runs' (with a store).
    var snapshot: CompressionStats {
        var s = thisRun
        totals.addBase(to: &s)
        return s
    }

    /// This run's counts.
    var thisRun: CompressionStats {
        var s = CompressionStats()
        s.variantsStored = variantsStored.load(ordering: .relaxed)
        s.bytesBefore = bytesBefore.load(ordering: .relaxed)
        s.bytesAfter = bytesAfter.load(ordering: .relaxed)
        s.compressions = compressions.load(ordering: .relaxed)
        s.inlineCompressions = inlineCompressions.load(ordering: .relaxed)
        s.compressionCPUNanos = compressionCPUNanos.load(ordering: .relaxed)
        for slot in served.elements {
            s.variantHits &+= slot.variantHits.load(ordering: .relaxed)
            s.siblingHits &+= slot.siblingHits.load(ordering: .relaxed)
            s.bytesSaved &+= slot.bytesSaved.load(ordering: .relaxed)
        }
        s.refused = refused.load(ordering: .relaxed)
        s.queueFull = queueFull.load(ordering: .relaxed)
        return s
    }
}

/// One worker's counters of encoded responses, padded past a pair of cache lines.
final class ServedCounters: Sendable {
    let variantHits = Atomic<UInt64>(0)
    let siblingHits = Atomic<UInt64>(0)
    let bytesSaved = Atomic<UInt64>(0)
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}
