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
}

/// The counters behind `CompressionStats`: relaxed atomics, added to from any thread.
final class CompressionCounters: Sendable {
    let variantsStored = Atomic<UInt64>(0)
    let bytesBefore = Atomic<UInt64>(0)
    let bytesAfter = Atomic<UInt64>(0)
    let compressions = Atomic<UInt64>(0)
    let inlineCompressions = Atomic<UInt64>(0)
    let compressionCPUNanos = Atomic<UInt64>(0)
    /// The counters of encoded responses, bumped on every one: a slot per
    /// worker (the last shared by callers without one), so two workers never
    /// take one cache line from each other on a hit.
    private let served: [ServedCounters]
    let refused = Atomic<UInt64>(0)
    let queueFull = Atomic<UInt64>(0)

    init(workers: Int = 64) { served = (0...workers).map { _ in ServedCounters() } }

    /// An encoded response of `savedBytes` fewer bytes than identity.
    @inline(__always)
    func served(sibling: Bool, savedBytes: Int, worker: Int) {
        let slot = served[worker >= 0 && worker < served.count - 1 ? worker : served.count - 1]
        slot.bytesSaved.wrappingAdd(UInt64(max(0, savedBytes)), ordering: .relaxed)
        if sibling { slot.siblingHits.wrappingAdd(1, ordering: .relaxed) } else { slot.variantHits.wrappingAdd(1, ordering: .relaxed) }
    }

    func compressed(before: Int, after: Int, cpuSeconds: Double, inline: Bool) {
        compressions.wrappingAdd(1, ordering: .relaxed)
        if inline { inlineCompressions.wrappingAdd(1, ordering: .relaxed) }
        compressionCPUNanos.wrappingAdd(UInt64(max(0, cpuSeconds * 1e9)), ordering: .relaxed)
        bytesBefore.wrappingAdd(UInt64(before), ordering: .relaxed)
        bytesAfter.wrappingAdd(UInt64(after), ordering: .relaxed)
    }

    var snapshot: CompressionStats {
        var s = CompressionStats()
        s.variantsStored = variantsStored.load(ordering: .relaxed)
        s.bytesBefore = bytesBefore.load(ordering: .relaxed)
        s.bytesAfter = bytesAfter.load(ordering: .relaxed)
        s.compressions = compressions.load(ordering: .relaxed)
        s.inlineCompressions = inlineCompressions.load(ordering: .relaxed)
        s.compressionCPUNanos = compressionCPUNanos.load(ordering: .relaxed)
        for slot in served {
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
