/// Window TinyLFU (Einziger, Friedman, Manes 2017) as Caffeine runs it: new
/// entries enter a small LRU window; entries leaving the window are admitted
/// to the main SLRU region (probation, protected) only when a frequency sketch
/// says they are more popular than what they would displace, and the window's
/// share of the capacity adapts to the workload (see `WTinyLFUConfiguration`).
///
/// Sizes: a candidate is weighed against the combined frequency of all the
/// victims needed to make room for it, so a large object must be more popular
/// than the many small ones it pushes out.
public final class WTinyLFUPolicy: EvictionPolicy {
    public let name = "wtinylfu"
    public let capacity: Int
    public let configuration: WTinyLFUConfiguration
    public private(set) var used = 0

    static let window: Int32 = 0, probation: Int32 = 1, protected: Int32 = 2
    static let windowGhost: Int32 = 3, mainGhost: Int32 = 4
    /// Readable for `MigratablePolicy`.
    private(set) var table = SlotTable(listCount: 5)
    private var sketch: FrequencySketch
    private(set) var windowMax: Int
    private(set) var protectedMax: Int
    /// The window size that ghost adaptation aims for (fractional steps).
    private var windowTarget: Double
    private let ghostLimit: Int

    // Hill climbing.
    private var warm = false
    private var hitsInSample = 0
    private var missesInSample = 0
    private var previousHitRate = 0.0
    private var stepSize: Double
    /// xorshift state for the rare random admission that defeats hash flooding.
    private var random: UInt64 = 0x2545_f491_4f6c_dd1d

    private var evicted: [UInt64] = []

    public init(capacity: Int, configuration: WTinyLFUConfiguration = .init()) {
        self.capacity = max(0, capacity)
        self.configuration = configuration
        let w = Self.initialWindowMax(capacity: self.capacity, share: configuration.initialWindow)
        windowMax = w
        windowTarget = Double(w)
        protectedMax = Int(configuration.protectedShare * Double(self.capacity - w))
        stepSize = -configuration.stepShare * Double(self.capacity)
        ghostLimit = configuration.adaptation == .ghosts
            ? max(1, Int(configuration.ghostShare * Double(self.capacity))) : 0
        sketch = Self.sketch(forCapacity: self.capacity, configuration: configuration)
    }

    static func initialWindowMax(capacity: Int, share: Double) -> Int {
        guard capacity > 0 else { return 0 }
        return min(capacity, max(1, capacity - Int((1 - share) * Double(capacity))))
    }

    public var count: Int {
        table.length(Self.window) + table.length(Self.probation) + table.length(Self.protected)
    }

    public func contains(_ key: UInt64) -> Bool { resident(key) != nil }

    private func resident(_ key: UInt64) -> Int32? {
        guard let s = table.slot(of: key), table.list(s) < Self.windowGhost else { return nil }
        return s
    }

    /// Whether `key` is remembered as evicted (tests, diagnostics).
    func isGhost(_ key: UInt64) -> Bool {
        guard let s = table.slot(of: key) else { return false }
        return table.list(s) >= Self.windowGhost
    }

    /// The window's current share of the capacity, in units (diagnostics).
    public var windowCapacity: Int { windowMax }

    /// The sketch's estimate for `key` (tests, diagnostics).
    public func estimatedFrequency(_ key: UInt64) -> Int { sketch.frequency(key) }

    public func recordHit(_ key: UInt64) {
        guard let s = resident(key) else { return }
        sketch.increment(key)
        hitsInSample += 1
        switch table.list(s) {
        case Self.probation:
            table.pushHead(s, list: Self.protected)
            demoteFromProtected()
        default:
            table.pushHead(s, list: table.list(s))
        }
        climbIfDue()
    }

    public func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64]) {
        let size = max(1, size)
        if resident(key) != nil {
            recordHit(key)
            return (true, [])
        }
        sketch.increment(key)
        missesInSample += 1
        defer { climbIfDue() }
        if let g = table.slot(of: key) {
            adaptToGhost(table.list(g), size: size)
            table.delete(g)
        }
        // The largest-share refusal protects the hits a large entry would
        // displace; while the cache has room it displaces none (adaptsize,
        // 1% of the bytes, in the default duel with its slow-score choice:
        // B 25.78% -> 25.89%; Tools/hitratio/results, session 13).
        guard size <= capacity,
              size == 1 || Double(size) <= configuration.largestShare * Double(capacity) || used + size <= capacity else {
            return (false, [])
        }
        evicted.removeAll(keepingCapacity: true)
        let s = table.insert(key: key, size: size)
        used += size
        if Double(size) > configuration.windowBypass * Double(windowMax) {
            table.pushHead(s, list: Self.probation)
            if used > capacity { contest(s) }
        } else {
            table.pushHead(s, list: Self.window)
        }
        if count * configuration.sketchScale > sketch.width { growSketch() }
        evictEntries()
        if !warm && used >= capacity / 2 { warm = true }
        let admitted = resident(key) != nil
        if let i = evicted.firstIndex(of: key) { evicted.remove(at: i) }
        return (admitted, evicted.isEmpty ? [] : evicted)
    }

    public func remove(_ key: UInt64) {
        guard let s = resident(key) else { return }
        used -= table.size(s)
        table.delete(s)
    }

    /// word: the region (0 window, 1 probation, 2 protected).
    public func state(of key: UInt64) -> PolicyEntryState? {
        guard let s = resident(key) else { return nil }
        return PolicyEntryState(word: UInt64(table.list(s)), sequence: table.stamp(s))
    }

    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        let plan = RestorePlan(entries, capacity: capacity - used, alreadyResident: contains)
        for e in plan.kept {
            if let g = table.slot(of: e.key) { table.delete(g) }
            let s = table.insert(key: e.key, size: e.size)
            let region = e.state.word <= 2 ? Int32(e.state.word) : Self.probation
            table.pushHead(s, list: region, stamp: e.state.sequence)
            used += e.size
        }
        if count * configuration.sketchScale > sketch.width { growSketch() }
        if used >= capacity / 2 { warm = true }
        return plan.dropped
    }

    public func exportGlobalState() -> [UInt8] {
        var w = StateWriter(policy: name, capacity: capacity)
        w.put(windowMax)
        w.put(windowTarget)
        w.put(protectedMax)
        w.put(warm ? 1 : 0)
        w.put(hitsInSample)
        w.put(missesInSample)
        w.put(previousHitRate)
        w.put(stepSize)
        w.put(random)
        sketch.encode(into: &w)
        for list in [Self.windowGhost, Self.mainGhost] {
            var ghosts: [UInt64] = []
            var s = table.tail(list)
            while s != SlotTable.none {
                ghosts += [table.key(s), UInt64(table.size(s)), table.stamp(s)]
                s = table.newer(s)
            }
            w.put(ghosts)
        }
        return w.bytes
    }

    @discardableResult
    public func importGlobalState(_ bytes: [UInt8]) -> Bool {
        guard var r = StateReader(bytes, policy: name, capacity: capacity),
              let wm = r.int(), (0...capacity).contains(wm),
              let wt = r.double(), wt.isFinite, wt >= 0, wt <= Double(capacity),
              let pm = r.int(), (0...capacity).contains(pm),
              let warmFlag = r.int(), let hits = r.int(), hits >= 0, let misses = r.int(), misses >= 0,
              let previous = r.double(), previous.isFinite, let step = r.double(), step.isFinite,
              let rnd = r.uint64(), rnd != 0,
              let sk = FrequencySketch.decode(from: &r, doorkeeper: configuration.doorkeeper,
                                 samplesPerCounterWord: configuration.sketchSample),
              let windowGhosts = r.uint64s(limit: 3 * ghostLimit), windowGhosts.count % 3 == 0,
              let mainGhosts = r.uint64s(limit: 3 * ghostLimit), mainGhosts.count % 3 == 0,
              r.isAtEnd
        else { return false }
        windowMax = wm
        windowTarget = wt
        protectedMax = pm
        warm = warmFlag != 0
        hitsInSample = hits
        missesInSample = misses
        previousHitRate = previous
        stepSize = step
        random = rnd
        sketch = sk
        for (list, ghosts) in [(Self.windowGhost, windowGhosts), (Self.mainGhost, mainGhosts)] {
            while table.tail(list) != SlotTable.none { table.delete(table.tail(list)) }
            for i in stride(from: 0, to: ghosts.count, by: 3) where table.slot(of: ghosts[i]) == nil {
                let s = table.insert(key: ghosts[i], size: Int(clamping: max(1, ghosts[i + 1])))
                table.pushHead(s, list: list, stamp: ghosts[i + 2])
            }
            trimGhost(list)
        }
        return true
    }

    // MARK: - Eviction

    /// Brings the window within its share (moving at most a few entries when
    /// nothing must be evicted, so a shrink is spread over requests) and the
    /// total within the capacity.
    private func evictEntries() {
        var moves = 0
        while used > capacity || (table.weight(Self.window) > windowMax && moves < 8) {
            if table.weight(Self.window) > windowMax {
                let c = table.tail(Self.window)
                table.pushHead(c, list: Self.probation)
                moves += 1
                if used > capacity { contest(c) }
            } else {
                var v = table.tail(Self.probation)
                if v == SlotTable.none { v = table.tail(Self.protected) }
                if v == SlotTable.none { v = table.tail(Self.window) }
                evict(v, ghost: table.list(v) == Self.window ? Self.windowGhost : Self.mainGhost)
            }
        }
    }

    /// Admits candidate `c` (already on probation) by evicting the victims that
    /// make room for it, or evicts `c` when they are together at least as popular.
    private func contest(_ c: Int32) {
        let need = used - capacity
        var freed = 0, victimFrequency = 0, victims = 0
        var list = Self.probation
        var v = table.tail(list)
        while freed < need {
            if v == SlotTable.none {
                guard list == Self.probation else { break }
                list = Self.protected
                v = table.tail(list)
                continue
            }
            if v != c {
                victims += 1
                if victims > configuration.maxVictims { break }
                freed += table.size(v)
                victimFrequency += max(configuration.victimFloor, sketch.frequency(table.key(v)))
            }
            v = table.newer(v)
        }
        if freed < need && victims <= configuration.maxVictims {
            return  // main cannot make room alone; the caller evicts further
        }
        if freed >= need && admit(sketch.frequency(table.key(c)), over: victimFrequency) {
            var n = victims
            while n > 0 {
                var t = table.tail(Self.probation)
                if t == c { t = table.newer(t) }
                if t == SlotTable.none {
                    t = table.tail(Self.protected)
                }
                evict(t, ghost: Self.mainGhost)
                n -= 1
            }
        } else {
            evict(c, ghost: Self.windowGhost)
        }
    }

    private func admit(_ candidate: Int, over victims: Int) -> Bool {
        if candidate > victims { return true }
        guard candidate >= 6 else { return false }
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random & 127 == 0
    }

    /// Evicts resident `s`, remembering its key on `ghost` when ghosts are kept.
    private func evict(_ s: Int32, ghost: Int32) {
        evicted.append(table.key(s))
        used -= table.size(s)
        if ghostLimit > 0 {
            table.pushHead(s, list: ghost)
            trimGhost(ghost)
        } else {
            table.delete(s)
        }
    }

    private func trimGhost(_ list: Int32) {
        while table.weight(list) > ghostLimit { table.delete(table.tail(list)) }
    }

    private func demoteFromProtected() {
        while table.weight(Self.protected) > protectedMax {
            table.pushHead(table.tail(Self.protected), list: Self.probation)
        }
    }

    /// The frequency sketch, handed over by `DuelingPolicy` across a switch
    /// so that a W-TinyLFU taking over does not start with empty counters.
    var frequencySketch: FrequencySketch {
        get { sketch }
        set { if newValue.width >= sketch.width { sketch = newValue } }
    }

    /// The sketch a new W-TinyLFU of `capacity` starts with.
    static func sketch(forCapacity capacity: Int, configuration c: WTinyLFUConfiguration) -> FrequencySketch {
        FrequencySketch(entries: min(max(capacity, 256), 1024) * c.sketchScale,
                        doorkeeper: c.doorkeeper, samplesPerCounterWord: c.sketchSample)
    }

    private func growSketch() { sketch = Self.grown(sketch, configuration: configuration) }

    /// A sketch twice as wide (and empty), for when the entries outgrow `sketch`.
    static func grown(_ sketch: FrequencySketch, configuration c: WTinyLFUConfiguration) -> FrequencySketch {
        FrequencySketch(entries: min(sketch.width * 2, 1 << 30), doorkeeper: c.doorkeeper,
                        samplesPerCounterWord: c.sketchSample)
    }

    // MARK: - Adaptation

    /// A miss on a ghost: the region it left was too small.
    private func adaptToGhost(_ list: Int32, size: Int) {
        let wg = Double(max(1, table.weight(Self.windowGhost))), mg = Double(max(1, table.weight(Self.mainGhost)))
        let s = configuration.ghostStepByMeanSize && count > 0 ? Double(used) / Double(count) : Double(size)
        if list == Self.windowGhost {
            windowTarget += configuration.ghostGain * max(s, s * mg / wg)
        } else {
            windowTarget -= configuration.ghostGain * configuration.shrinkGain * max(s, s * wg / mg)
        }
        windowTarget = min(Double(capacity), max(1, windowTarget))
        windowMax = Int(windowTarget)
        protectedMax = Int(configuration.protectedShare * Double(capacity - windowMax))
        demoteFromProtected()
    }

    private func climbIfDue() {
        guard configuration.adaptation == .hillClimbing else { return }
        if !warm {
            hitsInSample = 0
            missesInSample = 0
            return
        }
        let n = hitsInSample + missesInSample
        guard Double(n) >= configuration.climbSampleFactor * Double(sketch.width / configuration.sketchScale) else { return }
        let hitRate = Double(hitsInSample) / Double(n)
        let change = hitRate - previousHitRate
        let amount = change >= 0 ? stepSize : -stepSize
        let full = configuration.stepShare * Double(capacity)
        stepSize = abs(change) >= configuration.restartThreshold
            ? (amount >= 0 ? full : -full)
            : configuration.stepDecay * amount
        previousHitRate = hitRate
        hitsInSample = 0
        missesInSample = 0
        let quota = Int(amount)
        if quota > 0 { increaseWindow(quota) } else if quota < 0 { decreaseWindow(-quota) }
    }

    /// Moves up to `amount` units from protected to window, taking entries
    /// from main's cold ends into the window so that sizes stay in step.
    private func increaseWindow(_ amount: Int) {
        guard protectedMax > 0 else { return }
        var quota = min(amount, protectedMax)
        protectedMax -= quota
        windowMax += quota
        demoteFromProtected()
        for _ in 0..<1000 {
            var c = table.tail(Self.probation)
            if c == SlotTable.none || quota < table.size(c) { c = table.tail(Self.protected) }
            guard c != SlotTable.none, table.size(c) <= quota else { break }
            quota -= table.size(c)
            table.pushHead(c, list: Self.window)
        }
        protectedMax += quota
        windowMax -= quota
    }

    private func decreaseWindow(_ amount: Int) {
        guard windowMax > 1 else { return }
        var quota = min(amount, windowMax - 1)
        protectedMax += quota
        windowMax -= quota
        for _ in 0..<1000 {
            let c = table.tail(Self.window)
            guard c != SlotTable.none, table.size(c) <= quota else { break }
            quota -= table.size(c)
            table.pushHead(c, list: Self.probation)
        }
        protectedMax -= quota
        windowMax += quota
    }
}
