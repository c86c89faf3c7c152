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
/// above noise, and, where the shadows sample, it also leads on a slowly
/// decayed ratio), the resident entries move to a new instance of it, in recency
/// order with their standing (new, seen again, seen often). Nothing is
/// evicted by a switch, and W-TinyLFU's frequency sketch is kept counting
/// while another candidate serves, so a W-TinyLFU taking over admits by the
/// frequencies of the whole run instead of starting from empty counters
/// (ARC P3 at 10% of objects, S3-FIFO serving first: 33.97% against 32.73%).
/// A cache whose shadows will sample and whose entries differ in size
/// switches to S3-FIFO as it fills (see `sizedPrior`).
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
    var policy: any MigratablePolicy
    /// One per candidate, from the first eviction on (empty before).
    var shadows: [any MigratablePolicy] = []
    /// Keys whose spread hash has these bits clear are sampled.
    var sampleMask: UInt64 = 0
    var epochLength = 0
    var epochs = 0
    var sampled = 0
    var sampledBytes = 0
    var hits: [Int]
    var hitBytes: [Int]
    /// Decayed (object + byte) hit ratio per candidate.
    var scores: [Double]
    /// The same, decayed by `slowDecay` per epoch: where the shadows sample,
    /// a candidate must lead on both to take over (see `slowDecay`).
    var slowScores: [Double]
    var decisionDue = false
    /// Per candidate, its lead over the serving candidate's shadow on the same
    /// sampled requests (each weighed 1 + size / mean size, the per-request
    /// form of object plus byte hit ratio), this epoch and decayed, with the
    /// sums of squares: a paired test of whether the lead is more than noise.
    var epochLead: [Double]
    var epochLeadSquares: [Double]
    var lead: [Double]
    var leadVariance: [Double]
    var totalSampled = 0
    var totalSampledBytes = 0
    /// A candidate takes over only when its decayed lead exceeds this many
    /// standard deviations (0: the margin alone decides). Not persisted: it
    /// comes with the policy's kind.
    private(set) var confidence: Double
    /// Two standard deviations: on the sized trace (adaptsize, 1% of the bytes)
    /// one and none flip S3-FIFO and segmented TinyLFU on noise between epochs.
    public static let significantLead = 2.0
    /// Whether a switch in a small cache (full-size shadows, from its first
    /// eviction, seeded with `firstRequests`) promotes the chosen shadow's
    /// state (see `switchTo`). Not persisted: it comes with the policy's kind.
    public let promotesShadows: Bool
    /// The next entry count at which a cache not yet full asks `sizedPrior`
    /// (from 1,024, doubling; not persisted: a restored cache asks once it
    /// reaches the next such count, unless it holds more than twice
    /// `earlyPriorLimit` entries).
    var nextPriorCheck = 1_024
    /// The early `sizedPrior` is asked up to this many entries (a switch then
    /// moves at most about twice as many); past it, at the first eviction.
    static let earlyPriorLimit = 8_192
    /// The first eviction has fixed the sampling rate (shadows run only from then on).
    var shadowsSettled: Bool { !shadows.isEmpty }
    /// With `promotesShadows`, until the first eviction: every request so far,
    /// in order (key and size; size 0 for a hit, -1 for a removal; in a cache
    /// of 2,048 entries or more only the keys its shadows would sample), so that
    /// shadows started at the first eviction are seeded to where
    /// they would stand had they run from the first request, while a cache
    /// that never evicts pays only the append. Cleared (and not kept again)
    /// when it outgrows `firstRequestLimit` or the widest sampling.
    var firstRequests: [(key: UInt64, size: Int)] = []
    var recordsFirstRequests: Bool
    /// `firstRequests` holds only the keys sampled with this mask (see `recordFirstRequest`).
    var recordMask: UInt64 = 0
    /// `firstRequests` is given up past this many records: `firstRequestFactor`
    /// times the entries the cache holds (at least `shadowEntries`' worth).
    var firstRequestLimit = DuelingPolicy.firstRequestFactor * DuelingPolicy.shadowEntries
    /// Switches since start (diagnostics, tests; not persisted).
    public private(set) var switches = 0
    /// While a candidate without a sketch serves, W-TinyLFU's frequency sketch
    /// goes on counting here, and a W-TinyLFU taking over gets it: a switch
    /// keeps the frequencies instead of starting from empty counters. Nil
    /// while W-TinyLFU serves (its own sketch counts) or is no candidate.
    var keptSketch: FrequencySketch?
    let sketchConfiguration = WTinyLFUConfiguration()
    /// A candidate must lead the serving one by this much (in object plus
    /// byte hit ratio) to take over: a switch costs the new policy's warm-up
    /// (an empty sketch or ghost queue), so near-ties must not flip it.
    static let margin = 0.01
    /// Where the shadows sample (a switch moves the entries by standing, with
    /// cold ghosts and window), the leader of the last epochs must also lead
    /// over about 20 epochs: on ARC P12 at 1% the quick leader changes every
    /// few epochs and following it lost 1.4 pp to fixed-window W-TinyLFU
    /// alone (Tools/hitratio/results/README.md, session 12).
    static let slowDecay = 0.95
    /// At most one key in 64 reaches the shadows: enough for about a thousand
    /// entries in each shadow of a 100,000-entry cache.
    static let maxSampling: UInt64 = 64
    /// Shadows hold about this many entries at least before sampling thins them.
    static let shadowEntries = 1_024
    /// An epoch lasts this many times the shadows' entry count in sampled
    /// requests (long enough for a loop or a scan to show), and at least `minEpoch`.
    static let epochFactor = 2
    static let minEpoch = 1_024
    /// The first eviction came within 4.4 requests per entry on every trace
    /// of Tools/hitratio whose shadows are full-size; twice that is kept.
    static let firstRequestFactor = 8
    /// Tags of the optional sections of the saved state.
    static let keptSketchSection = 1, leadSection = 2, settledSection = 3, firstRequestsSection = 4, slowScoresSection = 5

    /// `candidates`: any of wtinylfu, wtinylfu-fixed, segmented-tinylfu, s3fifo, lru (others
    /// are ignored); the first serves until the shadows say otherwise.
    /// `promotesShadows`: see the property.
    public init(capacity: Int, candidates: [PolicyKind] = [.wtinylfu, .s3fifo], confidence: Double = 0,
                promotesShadows: Bool = false) {
        self.capacity = max(0, capacity)
        self.confidence = confidence
        self.promotesShadows = promotesShadows
        recordsFirstRequests = promotesShadows && capacity > 0
        var kinds = candidates.filter { Self.kindType($0) != nil }
        if kinds.isEmpty { kinds = [.wtinylfu] }
        self.candidates = kinds
        name = kinds == [.wtinylfu, .s3fifo] ? "dueling" : "dueling-" + kinds.map(\.rawValue).joined(separator: "-")
        policy = Self.make(kinds[0], capacity: self.capacity)
        hits = Array(repeating: 0, count: kinds.count)
        hitBytes = hits
        scores = Array(repeating: 0, count: kinds.count)
        slowScores = scores
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
        if !shadows.isEmpty {
            if isSampled(key) { observe(key, size: policy.residentSize(key) ?? 1) }
        } else if recordsFirstRequests {
            recordFirstRequest(key, size: 0)
        }
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
            return (r.admitted, dropped.isEmpty ? r.evicted : dropped + r.evicted)
        }
        if recordsFirstRequests {
            recordFirstRequest(key, size: max(1, size))
            fitFirstRequests()
        }
        var moved: [UInt64] = []
        if policy.count >= nextPriorCheck && nextPriorCheck <= Self.earlyPriorLimit {
            let due = policy.count < 2 * nextPriorCheck  // not a restored cache already past it
            nextPriorCheck *= 2
            if due, let s3fifo = sizedPrior(entries: projectedEntries) { moved = switchTo(s3fifo) }
        }
        if r.evicted.isEmpty { return (r.admitted, dropped + moved) }
        let promoted = startShadows()
        return (r.admitted, dropped + moved + promoted + r.evicted)
    }

    /// The entries the cache will hold when full, at its mean entry size so far.
    private var projectedEntries: Int {
        policy.used > 0 ? Int(Double(capacity) * Double(policy.count) / Double(policy.used)) : 0
    }

    public func remove(_ key: UInt64) {
        policy.remove(key)
        if !shadows.isEmpty {
            if isSampled(key) { for s in shadows { s.remove(key) } }
        } else if recordsFirstRequests {
            recordFirstRequest(key, size: -1)
        }
    }

    // MARK: - Shadows

    @inline(__always)
    private func isSampled(_ key: UInt64) -> Bool { Self.isSampled(key, mask: sampleMask) }

    /// MurmurHash3's finalizer, not the splitmix64 the frequency sketch
    /// spreads keys with: with that one, every sampled key had the low bits
    /// of its sketch hash clear, so a shadow's sketch counted in 4 of each
    /// word's 16 counters (a quarter of its width) and the shadows judged
    /// W-TinyLFU too low (ARC P12 at 1%: fixed-window shadow 16.71% against
    /// 18.02 for the full-size policy; 17.52 with this hash).
    @inline(__always)
    static func isSampled(_ key: UInt64, mask: UInt64) -> Bool {
        var z = (key ^ (key >> 33)) &* 0xff51_afd7_ed55_8ccd
        z = (z ^ (z >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return (z ^ (z >> 33)) & mask == 0
    }

    func shadowCapacity(mask: UInt64) -> Int { max(1, capacity / Int(mask + 1)) }

    /// At the first eviction the cache is full: its entry count sets the
    /// sampling rate (so sized caches sample by entries too) and the epoch.
    /// Not earlier: a cache that never fills (most sites) would run every hit
    /// through the shadows for nothing (full-size shadows from the first
    /// request, tried: +3,400 instructions a 1 KiB hit). The shadows
    /// are seeded with `firstRequests` instead (see `seedShadows`); returns
    /// the keys a switch at the end of that could not keep.
    private func startShadows() -> [UInt64] {
        let rate = Self.samplingRate(entries: policy.count)
        sampleMask = rate - 1
        shadows = candidates.map { Self.make($0, capacity: shadowCapacity(mask: sampleMask)) }
        var dropped = recordsFirstRequests ? seedShadows() : []
        dropFirstRequests()
        epochLength = sampledEpochLength
        if let s3fifo = sizedPrior(entries: policy.count) { dropped += switchTo(s3fifo) }
        return dropped
    }

    /// S3-FIFO's index when it should serve (from a few thousand entries on,
    /// or from the first eviction): a full cache of `entries` has shadows that
    /// sample (their first epochs are too noisy to pass the significance test
    /// for a long while), no switch was made (by the seeded epochs at the
    /// first eviction), and the entries differ in size. It is asked as the
    /// cache fills, at 1,024 entries and each doubling up to `earlyPriorLimit`
    /// (with the entries it will hold projected from its mean size), so that
    /// the switch moves a few thousand entries instead of a whole cache at its
    /// first eviction (100,000 entries: 58 ms at once, on a loaded machine);
    /// else at the first eviction. W-TinyLFU's admission weighs a
    /// candidate against the sum of the victims it displaces, which keeps
    /// large entries out: byte hits lost where each counts. On the sized trace
    /// (adaptsize, 10% of the bytes; W-TinyLFU alone 33.60% / B 31.46%,
    /// S3-FIFO alone 33.87% / B 33.22%) the duel otherwise switched only at
    /// request 52,583 of 66,987, for B 31.58%; with this, 33.76% / B 33.15%
    /// (33.82% / B 33.27% asked at the first eviction only; Tools/hitratio/results,
    /// session 13). The shadows still judge: a
    /// candidate that leads takes over as before. Caches whose entries are
    /// all charged alike (every unsized trace) are unchanged.
    private func sizedPrior(entries: Int) -> Int? {
        guard Self.samplingRate(entries: entries) > 1, switches == 0, let s3fifo = candidates.firstIndex(of: .s3fifo),
              s3fifo != activeIndex else { return nil }
        var smallest = Int.max, largest = 0
        for e in policy.residentEntries() {
            smallest = min(smallest, e.size)
            largest = max(largest, e.size)
        }
        return smallest < largest ? s3fifo : nil
    }

    /// One key in this many reaches the shadows of a cache of `entries` when it fills.
    static func samplingRate(entries: Int) -> UInt64 {
        var rate: UInt64 = 1
        while rate < maxSampling && Int(rate) * 2 * shadowEntries <= entries { rate *= 2 }
        return rate
    }

    /// `epochFactor` times a shadow's entries, at least `minEpoch`.
    private var sampledEpochLength: Int { max(Self.minEpoch, Self.epochFactor * policy.count / Int(sampleMask + 1)) }

    /// Only the requests of keys the shadows would sample were the cache full
    /// now are recorded (all of them below about 2,048 entries): sampled
    /// shadows are seeded as full-size ones are. Sampled keys nest (a key
    /// sampled at 1/2R is sampled at 1/R), so the record is thinned as the
    /// cache grows. On the sized trace (adaptsize, 10%: about 4,000 entries, shadows at 1/2)
    /// the shadows otherwise started at the first eviction, with only about
    /// five epochs left in its 67,000 requests; on ARC P12 at 1% of objects
    /// (shadows at 1/16) it chose sooner: 17.11% -> 17.25%.
    @inline(__always)
    private func recordFirstRequest(_ key: UInt64, size: Int) {
        guard recordMask == 0 || Self.isSampled(key, mask: recordMask) else { return }
        firstRequests.append((key, size))
        if firstRequests.count > firstRequestLimit { dropFirstRequests() }
    }

    /// After an admission: thins the record to the sampling rate of the cache's
    /// entries now, and sets its limit (`firstRequestFactor` times the entries
    /// a shadow would hold). Given up past `maxSampling`'s range.
    func fitFirstRequests() {
        let rate = Self.samplingRate(entries: policy.count)
        if Int(rate) * 2 * Self.shadowEntries <= policy.count { dropFirstRequests(); return }
        if rate - 1 != recordMask {
            recordMask = rate - 1
            firstRequests.removeAll { !Self.isSampled($0.key, mask: recordMask) }
        }
        firstRequestLimit = Self.firstRequestFactor * max(policy.count / Int(rate), Self.shadowEntries)
        if firstRequests.count > firstRequestLimit { dropFirstRequests() }
    }

    func dropFirstRequests() {
        recordsFirstRequests = false
        firstRequests = []
    }

    /// Feeds `firstRequests` to the new shadows, with the epochs they would
    /// have closed (of `minEpoch` for full-size shadows; sampled ones, of the
    /// length they will have: in short seeded epochs the shadows, all alike
    /// before they fill, weighed in the slow score as much as real ones, and
    /// ARC P3 at 10% of objects fell 34.51% -> 33.57%, 35.09 with these): the
    /// shadows, scores and leads then stand as if the shadows had run from the
    /// first request (as the first `dueling-promoted` did, at a cost on every
    /// hit of a cache that never fills). A switch those epochs call for is made
    /// at the end (by promotion where the shadows are full-size: the chosen
    /// shadow is exact), instead of where it fell.
    private func seedShadows() -> [UInt64] {
        epochLength = sampleMask == 0 ? Self.minEpoch : sampledEpochLength
        var sizes: [UInt64: Int] = [:]
        var chosen: Int?
        for r in firstRequests {
            if r.size < 0 {
                for s in shadows { s.remove(r.key) }
            } else if r.size == 0 {
                observe(r.key, size: sizes[r.key] ?? 1)
            } else {
                if decisionDue, let best = closeEpoch() { chosen = best }
                sizes[r.key] = r.size
                observe(r.key, size: r.size)
            }
        }
        guard let chosen, chosen != activeIndex else { return [] }
        return switchTo(chosen)
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
        closeEpoch().map(switchTo) ?? []
    }

    /// Updates the scores; returns the candidate that should take over, if any.
    func closeEpoch() -> Int? {
        decisionDue = false
        for i in scores.indices {
            let ratio = Double(hits[i]) / Double(sampled) + Double(hitBytes[i]) / Double(max(1, sampledBytes))
            scores[i] = epochs == 0 ? ratio : 0.5 * scores[i] + 0.5 * ratio
            slowScores[i] = epochs == 0 ? ratio : Self.slowDecay * slowScores[i] + (1 - Self.slowDecay) * ratio
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
        // Among the candidates that lead, the one with the best slow score:
        // the one that has led longest, not the one the last epochs favour
        // (adaptsize at 1% of the bytes, W-TinyLFU admitting large entries
        // while it has room: S3-FIFO and segmented TinyLFU tie in the seeded
        // epochs, and the quick score chose S3-FIFO, then segmented TinyLFU:
        // 26.05% / B 25.69%; this choice goes to segmented TinyLFU at once:
        // 26.29% / B 25.89%).
        guard epochs >= 2, let best = slowScores.indices.max(by: { slowScores[$0] < slowScores[$1] }),
              best != activeIndex, scores[best] > scores[activeIndex] + Self.margin,
              confidence == 0 || lead[best] > confidence * leadVariance[best].squareRoot(),
              sampleMask == 0 || slowScores[best] > slowScores[activeIndex] else { return nil }
        for i in lead.indices { lead[i] = 0; leadVariance[i] = 0 }
        return best
    }

    private func countInKeptSketch(_ key: UInt64) {
        keptSketch!.increment(key)
        if policy.count * sketchConfiguration.sketchScale > keptSketch!.width {
            keptSketch = WTinyLFUPolicy.grown(keptSketch!, configuration: sketchConfiguration)
        }
    }

    /// The resident entries move to a new instance of candidate `index`, in
    /// recency order with their standing; or, when the shadows see every key
    /// at full size and `promotesShadows`, the new instance takes the chosen
    /// shadow's state (see `promotedEntries`), its global state too (sketch,
    /// window, ghosts): a switch then costs no warm-up.
    private func switchTo(_ index: Int) -> [UInt64] {
        let from = type(of: policy), to = Self.kindType(candidates[index])!
        let promoted = promotesShadows && sampleMask == 0 && shadows.count == candidates.count ? shadows[index] : nil
        let resident = policy.residentEntries()
        let entries = promoted.map { Self.promotedEntries(resident, shadow: $0, to: to) } ?? resident.map { e in
            (key: e.key, size: e.size, state: to.state(standing: from.standing(e.state), sequence: e.state.sequence))
        }
        serve(index)
        switches += 1
        let dropped = policy.adopt(entries)
        if let promoted { policy.importGlobalState(promoted.exportGlobalState()) }
        return dropped
    }

    /// `resident` with the states of a full-size `shadow` that saw every
    /// request (so it stands as its candidate would had it served since the
    /// start): the entries it holds keep their exact states and order; the
    /// others (it refused or evicted them, the serving policy kept them) go
    /// below them, as the oldest of the entries seen often: they are let go
    /// as the new policy's own established entries would be, and the switch
    /// evicts nothing. Sequences are renumbered in that order above the serving
    /// policy's (so a store's records not rewritten since sort older). (As new
    /// entries, the first to go, or with their old standing, they gave a lower
    /// mean over the cells where shadows are full-size: Tools/hitratio/results.)
    static func promotedEntries(_ resident: [(key: UInt64, size: Int, state: PolicyEntryState)], shadow: any MigratablePolicy,
                                to: any MigratablePolicy.Type) -> [(key: UInt64, size: Int, state: PolicyEntryState)] {
        let keys = Set(resident.map(\.key))
        let base = resident.map(\.state.sequence).max() ?? 0
        let exact = shadow.residentEntries().filter { keys.contains($0.key) }.sorted { $0.state.sequence < $1.state.sequence }
        let inShadow = Set(exact.map(\.key))
        let rest = resident.filter { !inShadow.contains($0.key) }.sorted { $0.state.sequence < $1.state.sequence }
        return (rest.map { (key: $0.key, size: $0.size, state: to.state(standing: 2, sequence: 0)) }
                + exact.map { (key: $0.key, size: $0.size, state: $0.state) })
            .enumerated().map { i, e in (key: e.key, size: e.size, state: PolicyEntryState(word: e.state.word, sequence: base + UInt64(i + 1))) }
    }

    /// A new instance of candidate `index` serves; the frequency sketch
    /// passes between W-TinyLFU and `keptSketch`.
    func serve(_ index: Int) {
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
}
