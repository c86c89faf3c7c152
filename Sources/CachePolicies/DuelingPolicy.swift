/// Chooses among whole policies online by their hit ratios on a sample of the
/// keys: set dueling (Qureshi et al., ISCA 2007) with miniature simulations
/// (Waldspurger et al., USENIX ATC 2017). No single policy holds on every
/// workload (W-TinyLFU's frequency filter wins on skewed, stable popularity,
/// S3-FIFO's quick demotion on disk traces with long loops), so one serves
/// while each candidate also runs as a shadow: a copy at 1/R of the capacity
/// fed only the keys whose hash falls in a 1/R sample. Every epoch (at least
/// twice the shadows' entries) the decayed hit ratios (object plus byte, so a
/// sized cache weighs both) are compared; when another candidate leads by a
/// margin (and, with a `confidence`, when its lead over the serving
/// candidate's shadow on the same requests is that many standard deviations
/// above noise), the resident entries move to a new instance of it, in recency
/// order with their standing (new, seen again, seen often). Nothing is
/// evicted by a switch, and W-TinyLFU's frequency sketch is kept counting
/// while another candidate serves, so a W-TinyLFU taking over admits by the
/// frequencies of the whole run instead of starting from empty counters
/// (ARC P3 at 10% of objects, S3-FIFO serving first: 33.97% against 32.73%).
///
/// Cost: a hit costs the serving policy's hit plus one hash (and a sketch
/// increment while a candidate without a sketch serves); sampled keys
/// also go through each shadow (R is up to 64 for large caches, 1 below
/// about 2,000 entries). A switch is O(n log n) once per epoch of at least
/// 2n requests: amortised O(log n), in practice a few per run (hundreds
/// where candidates are within noise of each other: cache2k orm at 1%).
public final class DuelingPolicy: EvictionPolicy {
    /// "dueling" for the plain W-TinyLFU and S3-FIFO duel, else "dueling-" and
    /// the candidates in order (the saved state of one candidate list is
    /// refused by another).
    public let name: String
    public let capacity: Int
    public let candidates: [PolicyKind]
    /// The candidate serving, as an index into `candidates`.
    public private(set) var activeIndex = 0
    private(set) var policy: any MigratablePolicy
    /// One per candidate, from the first eviction on (empty before).
    private(set) var shadows: [any MigratablePolicy] = []
    /// Keys whose spread hash has these bits clear are sampled.
    private(set) var sampleMask: UInt64 = 0
    private var epochLength = 0
    private var epochs = 0
    private var sampled = 0
    private var sampledBytes = 0
    private var hits: [Int]
    private var hitBytes: [Int]
    /// Decayed (object + byte) hit ratio per candidate.
    private var scores: [Double]
    private var decisionDue = false
    /// Per candidate, its lead over the serving candidate's shadow on the same
    /// sampled requests (each weighed 1 + size / mean size, the per-request
    /// form of object plus byte hit ratio), this epoch and decayed, with the
    /// sums of squares: a paired test of whether the lead is more than noise.
    private var epochLead: [Double]
    private var epochLeadSquares: [Double]
    private var lead: [Double]
    private var leadVariance: [Double]
    private var totalSampled = 0
    private var totalSampledBytes = 0
    /// A candidate takes over only when its decayed lead exceeds this many
    /// standard deviations (0: the margin alone decides). Not persisted: it
    /// comes with the policy's kind.
    private(set) var confidence: Double
    /// Two standard deviations: on the sized trace (adaptsize, 1% of the bytes)
    /// one and none flip S3-FIFO and segmented TinyLFU on noise between epochs.
    public static let significantLead = 2.0
    /// Switches since start (diagnostics, tests; not persisted).
    public private(set) var switches = 0
    /// While a candidate without a sketch serves, W-TinyLFU's frequency sketch
    /// goes on counting here, and a W-TinyLFU taking over gets it: a switch
    /// keeps the frequencies instead of starting from empty counters. Nil
    /// while W-TinyLFU serves (its own sketch counts) or is no candidate.
    private(set) var keptSketch: FrequencySketch?
    private let sketchConfiguration = WTinyLFUConfiguration()
    /// A candidate must lead the serving one by this much (in object plus
    /// byte hit ratio) to take over: a switch costs the new policy's warm-up
    /// (an empty sketch or ghost queue), so near-ties must not flip it.
    static let margin = 0.01
    /// At most one key in 64 reaches the shadows: enough for about a thousand
    /// entries in each shadow of a 100,000-entry cache.
    static let maxSampling: UInt64 = 64
    /// Shadows hold about this many entries at least before sampling thins them.
    static let shadowEntries = 1_024
    /// An epoch lasts this many times the shadows' entry count in sampled
    /// requests (long enough for a loop or a scan to show), and at least `minEpoch`.
    static let epochFactor = 2
    static let minEpoch = 1_024
    /// Tags of the optional sections of the saved state.
    static let keptSketchSection = 1, leadSection = 2

    /// `candidates`: any of wtinylfu, wtinylfu-fixed, segmented-tinylfu, s3fifo, lru (others
    /// are ignored); the first serves until the shadows say otherwise.
    public init(capacity: Int, candidates: [PolicyKind] = [.wtinylfu, .s3fifo], confidence: Double = 0) {
        self.capacity = max(0, capacity)
        self.confidence = confidence
        var kinds = candidates.filter { Self.kindType($0) != nil }
        if kinds.isEmpty { kinds = [.wtinylfu] }
        self.candidates = kinds
        name = kinds == [.wtinylfu, .s3fifo] ? "dueling" : "dueling-" + kinds.map(\.rawValue).joined(separator: "-")
        policy = Self.make(kinds[0], capacity: self.capacity)
        hits = Array(repeating: 0, count: kinds.count)
        hitBytes = hits
        scores = Array(repeating: 0, count: kinds.count)
        epochLead = scores
        epochLeadSquares = scores
        lead = scores
        leadVariance = scores
        if !Self.hasSketch(kinds[0]) && kinds.contains(where: Self.hasSketch) {
            keptSketch = WTinyLFUPolicy.sketch(forCapacity: self.capacity, configuration: sketchConfiguration)
        }
    }

    static func kindType(_ kind: PolicyKind) -> (any MigratablePolicy.Type)? {
        switch kind {
        case .wtinylfu, .wtinylfuFixed: return WTinyLFUPolicy.self
        case .s3fifo: return S3FIFOPolicy.self
        case .segmentedTinyLFU: return SegmentedTinyLFUPolicy.self
        case .lru: return LRUPolicy.self
        default: return nil
        }
    }

    /// W-TinyLFU in either form: its sketch is the one kept across switches.
    static func hasSketch(_ kind: PolicyKind) -> Bool {
        kind == .wtinylfu || kind == .wtinylfuFixed || kind == .segmentedTinyLFU
    }

    static func make(_ kind: PolicyKind, capacity: Int) -> any MigratablePolicy {
        switch kind {
        case .s3fifo: return S3FIFOPolicy(capacity: capacity)
        case .lru: return LRUPolicy(capacity: capacity)
        case .segmentedTinyLFU: return SegmentedTinyLFUPolicy(capacity: capacity)
        case .wtinylfuFixed: return WTinyLFUPolicy(capacity: capacity, configuration: .fixedWindow)
        default: return WTinyLFUPolicy(capacity: capacity)
        }
    }

    /// The policy serving now (diagnostics, tests).
    public var active: PolicyKind { candidates[activeIndex] }
    public var used: Int { policy.used }
    public var count: Int { policy.count }
    public func contains(_ key: UInt64) -> Bool { policy.contains(key) }

    public func recordHit(_ key: UInt64) {
        policy.recordHit(key)
        if keptSketch != nil { keptSketch!.increment(key) }
        if !shadows.isEmpty && isSampled(key) { observe(key, size: policy.residentSize(key) ?? 1) }
    }

    public func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64]) {
        if policy.contains(key) {
            recordHit(key)
            return (true, [])
        }
        let dropped = decisionDue ? decide() : []
        if keptSketch != nil { countInKeptSketch(key) }
        let r = policy.recordMiss(key, size: size)
        if !shadows.isEmpty {
            if isSampled(key) { observe(key, size: max(1, size)) }
        } else if !r.evicted.isEmpty {
            startShadows()
        }
        return (r.admitted, dropped.isEmpty ? r.evicted : dropped + r.evicted)
    }

    public func remove(_ key: UInt64) {
        policy.remove(key)
        if isSampled(key) { for s in shadows { s.remove(key) } }
    }

    // MARK: - Shadows

    @inline(__always)
    private func isSampled(_ key: UInt64) -> Bool {
        var z = key &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return (z ^ (z >> 31)) & sampleMask == 0
    }

    private func shadowCapacity(mask: UInt64) -> Int { max(1, capacity / Int(mask + 1)) }

    /// At the first eviction the cache is full: its entry count sets the
    /// sampling rate (so sized caches sample by entries too) and the epoch.
    private func startShadows() {
        var rate: UInt64 = 1
        while rate < Self.maxSampling && Int(rate) * 2 * Self.shadowEntries <= policy.count { rate *= 2 }
        sampleMask = rate - 1
        epochLength = max(Self.minEpoch, Self.epochFactor * policy.count / Int(rate))
        shadows = candidates.map { Self.make($0, capacity: shadowCapacity(mask: sampleMask)) }
    }

    private func observe(_ key: UInt64, size: Int) {
        sampled += 1
        sampledBytes += size
        totalSampled += 1
        totalSampledBytes += size
        var hitMask: UInt64 = 0
        for i in shadows.indices {
            let s = shadows[i]
            if s.contains(key) {
                hits[i] += 1
                hitBytes[i] += size
                hitMask |= 1 << UInt64(i)
                s.recordHit(key)
            } else {
                _ = s.recordMiss(key, size: size)
            }
        }
        if hitMask != 0 && hitMask != (1 << UInt64(shadows.count)) - 1 {
            let weight = 1 + Double(size) * Double(totalSampled) / Double(totalSampledBytes)
            let served = Double(hitMask >> UInt64(activeIndex) & 1)
            for i in shadows.indices where i != activeIndex {
                let d = (Double(hitMask >> UInt64(i) & 1) - served) * weight
                epochLead[i] += d
                epochLeadSquares[i] += d * d
            }
        }
        if sampled >= epochLength { decisionDue = true }
    }

    /// Closes an epoch; switches when another candidate leads. Returns the
    /// keys the new policy could not keep (none: it has the same capacity).
    private func decide() -> [UInt64] {
        decisionDue = false
        for i in scores.indices {
            let ratio = Double(hits[i]) / Double(sampled) + Double(hitBytes[i]) / Double(max(1, sampledBytes))
            scores[i] = epochs == 0 ? ratio : 0.5 * scores[i] + 0.5 * ratio
            hits[i] = 0
            hitBytes[i] = 0
            lead[i] = 0.5 * lead[i] + epochLead[i]
            leadVariance[i] = 0.25 * leadVariance[i] + epochLeadSquares[i]
            epochLead[i] = 0
            epochLeadSquares[i] = 0
        }
        sampled = 0
        sampledBytes = 0
        epochs += 1
        guard epochs >= 2, let best = scores.indices.max(by: { scores[$0] < scores[$1] }),
              best != activeIndex, scores[best] > scores[activeIndex] + Self.margin,
              confidence == 0 || lead[best] > confidence * leadVariance[best].squareRoot() else { return [] }
        for i in lead.indices { lead[i] = 0; leadVariance[i] = 0 }
        return switchTo(best)
    }

    private func countInKeptSketch(_ key: UInt64) {
        keptSketch!.increment(key)
        if policy.count * sketchConfiguration.sketchScale > keptSketch!.width {
            keptSketch = WTinyLFUPolicy.grown(keptSketch!, configuration: sketchConfiguration)
        }
    }

    private func switchTo(_ index: Int) -> [UInt64] {
        let from = type(of: policy), to = Self.kindType(candidates[index])!
        let entries = policy.residentEntries().map { e in
            (key: e.key, size: e.size, state: to.state(standing: from.standing(e.state), sequence: e.state.sequence))
        }
        serve(index)
        switches += 1
        return policy.adopt(entries)
    }

    /// A new instance of candidate `index` serves; the frequency sketch
    /// passes between W-TinyLFU and `keptSketch`.
    private func serve(_ index: Int) {
        if let k = Self.sketch(of: policy) { keptSketch = k }
        policy = Self.make(candidates[index], capacity: capacity)
        activeIndex = index
        if Self.hasSketch(candidates[index]) {
            if let kept = keptSketch { Self.hand(kept, to: policy) }
            keptSketch = nil
        } else if keptSketch == nil && candidates.contains(where: Self.hasSketch) {
            keptSketch = WTinyLFUPolicy.sketch(forCapacity: capacity, configuration: sketchConfiguration)
        }
    }

    private static func sketch(of p: any MigratablePolicy) -> FrequencySketch? {
        (p as? WTinyLFUPolicy)?.frequencySketch ?? (p as? SegmentedTinyLFUPolicy)?.frequencySketch
    }

    private static func hand(_ sketch: FrequencySketch, to p: any MigratablePolicy) {
        if let w = p as? WTinyLFUPolicy { w.frequencySketch = sketch }
        if let w = p as? SegmentedTinyLFUPolicy { w.frequencySketch = sketch }
    }

    // MARK: - Persistence

    /// The serving policy's state with the candidate's index + 1 in the top byte.
    public func state(of key: UInt64) -> PolicyEntryState? {
        policy.state(of: key).map { PolicyEntryState(word: $0.word | UInt64(activeIndex + 1) << 56, sequence: $0.sequence) }
    }

    /// Entries saved by another candidate are translated by standing; entries
    /// without a tag come from the plain W-TinyLFU (the default before this one).
    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        if policy.count == 0, let first = entries.first {
            let i = candidateIndex(tag: first.state.word >> 56)
            if let i, i != activeIndex { serve(i) }
        }
        let to = type(of: policy)
        let translated = entries.map { e in
            let inner = PolicyEntryState(word: e.state.word & (1 << 56 - 1), sequence: e.state.sequence)
            guard let i = candidateIndex(tag: e.state.word >> 56), i != activeIndex else { return (key: e.key, size: e.size, state: inner) }
            let from = Self.kindType(candidates[i])!
            return (key: e.key, size: e.size, state: to.state(standing: from.standing(inner), sequence: inner.sequence))
        }
        return policy.restore(translated)
    }

    private func candidateIndex(tag: UInt64) -> Int? {
        if tag == 0 { return candidates.firstIndex(of: .wtinylfu) }
        return tag <= UInt64(candidates.count) ? Int(tag) - 1 : nil
    }

    public func exportGlobalState() -> [UInt8] {
        var w = StateWriter(policy: name, capacity: capacity)
        w.put(activeIndex)
        w.put(bytes: policy.exportGlobalState())
        w.put(sampleMask)
        w.put(shadows.count)
        for s in shadows {
            w.put(s.residentEntries().flatMap { [$0.key, UInt64($0.size), $0.state.word, $0.state.sequence] })
            w.put(bytes: s.exportGlobalState())
        }
        for v in [epochLength, epochs, sampled, sampledBytes, decisionDue ? 1 : 0] { w.put(v) }
        w.put(hits.map { UInt64($0) })
        w.put(hitBytes.map { UInt64($0) })
        w.put(scores.map(\.bitPattern))
        // Tagged sections, each optional (older state ends before them).
        if let keptSketch {
            w.put(Self.keptSketchSection)
            keptSketch.encode(into: &w)
        }
        w.put(Self.leadSection)
        for v in [epochLead, epochLeadSquares, lead, leadVariance] { w.put(v.map(\.bitPattern)) }
        w.put([UInt64(totalSampled), UInt64(totalSampledBytes)])
        return w.bytes
    }

    /// Also takes the serving policy's own state (a W-TinyLFU's, saved before
    /// this was the default) when that policy serves.
    @discardableResult
    public func importGlobalState(_ bytes: [UInt8]) -> Bool {
        guard var r = StateReader(bytes, policy: name, capacity: capacity) else {
            return policy.importGlobalState(bytes)
        }
        let n = candidates.count
        guard let active = r.int(), (0..<n).contains(active), active == activeIndex || policy.count == 0,
              let inner = r.blob(), let mask = r.uint64(), mask < Self.maxSampling, mask & (mask + 1) == 0,
              let shadowCount = r.int(), shadowCount == 0 || shadowCount == n else { return false }
        var restored: [any MigratablePolicy] = []
        for i in 0..<shadowCount {
            let s = Self.make(candidates[i], capacity: shadowCapacity(mask: mask))
            guard let q = r.uint64s(limit: 4 * (capacity + 1)), q.count % 4 == 0 else { return false }
            let entries = stride(from: 0, to: q.count, by: 4).map { j in
                (key: q[j], size: Int(clamping: q[j + 1]), state: PolicyEntryState(word: q[j + 2], sequence: q[j + 3]))
            }
            guard s.restore(entries).isEmpty, let g = r.blob(), s.importGlobalState(g) else { return false }
            restored.append(s)
        }
        guard let length = r.int(), length >= 0, let epochCount = r.int(), epochCount >= 0,
              let samples = r.int(), samples >= 0, let sampleBytes = r.int(), sampleBytes >= 0, let due = r.int(),
              let h = r.uint64s(limit: n), h.count == n, let hb = r.uint64s(limit: n), hb.count == n,
              let sc = r.uint64s(limit: n), sc.count == n else { return false }
        // State saved before the sketch was kept ends here, and before the lead's statistics.
        var kept: FrequencySketch?
        var statistics: [[Double]] = []
        var totals: [UInt64] = [0, 0]
        if r.peekInt() == Self.keptSketchSection {
            guard r.int() != nil, !Self.hasSketch(candidates[active]),
                  let k = FrequencySketch.decode(from: &r, doorkeeper: sketchConfiguration.doorkeeper,
                                                 samplesPerCounterWord: sketchConfiguration.sketchSample)
            else { return false }
            kept = k
        }
        if r.peekInt() == Self.leadSection {
            _ = r.int()
            for _ in 0..<4 {
                guard let v = r.uint64s(limit: n), v.count == n else { return false }
                statistics.append(v.map { Double(bitPattern: $0) })
            }
            guard let t = r.uint64s(limit: 2), t.count == 2 else { return false }
            totals = t
        }
        guard r.isAtEnd, statistics.joined().allSatisfy(\.isFinite) else { return false }
        let target = active == activeIndex ? policy : Self.make(candidates[active], capacity: capacity)
        guard target.importGlobalState(inner) else { return false }
        if active != activeIndex { serve(active) }
        policy = target
        if let kept { keptSketch = kept }
        sampleMask = mask
        shadows = restored
        epochLength = length
        epochs = epochCount
        sampled = samples
        sampledBytes = sampleBytes
        decisionDue = due != 0
        hits = h.map { Int(clamping: $0) }
        hitBytes = hb.map { Int(clamping: $0) }
        scores = sc.map { Double(bitPattern: $0) }
        if statistics.count == 4 {
            (epochLead, epochLeadSquares, lead, leadVariance) = (statistics[0], statistics[1], statistics[2], statistics[3])
        } else {
            for i in lead.indices { (epochLead[i], epochLeadSquares[i], lead[i], leadVariance[i]) = (0, 0, 0, 0) }
        }
        totalSampled = Int(clamping: totals[0])
        totalSampledBytes = Int(clamping: totals[1])
        return true
    }
}
