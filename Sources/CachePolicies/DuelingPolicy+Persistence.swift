/// The duel's persisted state: each resident entry's state word tagged with
/// the candidate serving (so a restart, or another candidate list, knows whose
/// state it is), and the global state: the serving policy's own, the shadows
/// with their entries, the scores and statistics of the current epoch, and
/// optional tagged sections (the kept sketch, the lead's statistics, the slow
/// scores, whether the shadows are settled, the requests before the first
/// eviction) that older state lacks.
extension DuelingPolicy {

    /// The serving policy's state with the candidate's index + 1 in the top byte.
    public func state(of key: UInt64) -> PolicyEntryState? {
        policy.state(of: key).map { PolicyEntryState(word: $0.word | UInt64(activeIndex + 1) << 56, sequence: $0.sequence) }
    }

    /// Entries saved by another candidate are translated by standing; entries
    /// without a tag come from the plain W-TinyLFU (the default before this one).
    /// Restored entries end the record of the first requests, which does not
    /// account for them, unless the global state brings back the one saved with them.
    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        if !entries.isEmpty { dropFirstRequests() }
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
            // In recency order, so that a restored duel saves the same bytes.
            let entries = s.residentEntries().sorted { $0.state.sequence < $1.state.sequence }
            w.put(entries.flatMap { [$0.key, UInt64($0.size), $0.state.word, $0.state.sequence] })
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
        w.put(Self.slowScoresSection)
        w.put(slowScores.map(\.bitPattern))
        w.put(Self.settledSection)
        w.put(shadowsSettled ? 1 : 0)
        if recordsFirstRequests {
            w.put(Self.firstRequestsSection)
            var flat: [UInt64] = []
            flat.reserveCapacity(2 * firstRequests.count)
            for r in firstRequests { flat.append(r.key); flat.append(UInt64(bitPattern: Int64(r.size))) }
            w.put(flat)
        }
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
            // Keys sampled by the hash before this one would never be seen again.
            let entries = stride(from: 0, to: q.count, by: 4).map { j in
                (key: q[j], size: Int(clamping: q[j + 1]), state: PolicyEntryState(word: q[j + 2], sequence: q[j + 3]))
            }.filter { Self.isSampled($0.key, mask: mask) }
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
        // Older state has no slow scores: they start from the quick ones.
        var slow = sc.map { Double(bitPattern: $0) }
        if r.peekInt() == Self.slowScoresSection {
            _ = r.int()
            guard let v = r.uint64s(limit: n), v.count == n else { return false }
            slow = v.map { Double(bitPattern: $0) }
        }
        // Shadows exist exactly when settled (the section says so again; older state lacks it).
        if r.peekInt() == Self.settledSection {
            _ = r.int()
            guard let v = r.int(), v == (shadowCount > 0 ? 1 : 0) else { return false }
        }
        // Without this section (settled, given up, or older state) nothing is recorded.
        var log: [(key: UInt64, size: Int)]?
        if r.peekInt() == Self.firstRequestsSection {
            _ = r.int()
            let most = 2 * (Self.firstRequestFactor * 2 * Self.shadowEntries + 1)
            guard shadowCount == 0, promotesShadows, let q = r.uint64s(limit: most), q.count % 2 == 0 else { return false }
            log = stride(from: 0, to: q.count, by: 2).map { j in (key: q[j], size: Int(Int64(bitPattern: q[j + 1]))) }
            guard log!.allSatisfy({ $0.size >= -1 }) else { return false }
        }
        guard r.isAtEnd, statistics.joined().allSatisfy(\.isFinite), slow.allSatisfy(\.isFinite) else { return false }
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
        slowScores = slow
        if statistics.count == 4 {
            (epochLead, epochLeadSquares, lead, leadVariance) = (statistics[0], statistics[1], statistics[2], statistics[3])
        } else {
            for i in lead.indices { (epochLead[i], epochLeadSquares[i], lead[i], leadVariance[i]) = (0, 0, 0, 0) }
        }
        totalSampled = Int(clamping: totals[0])
        totalSampledBytes = Int(clamping: totals[1])
        if let log {
            recordsFirstRequests = true
            firstRequests = log
            recordMask = 0
            fitFirstRequests()
        } else {
            dropFirstRequests()
        }
        return true
    }
}
