import XCTest
@testable import CachePolicies

final class DuelingPolicyTests: XCTestCase {
    /// A loop over 150 keys through 100 entries: LRU never hits, S3-FIFO keeps
    /// part of the loop in its main queue.
    private func loop(passes: Int, keys: Int = 150) -> [Request] {
        (0..<passes).flatMap { _ in (0..<keys).map { Request(key: UInt64($0), size: 1) } }
    }

    /// Runs `more` through a policy and its restored copy: they must hit and evict alike.
    private func assertSameDecisions(_ original: inout CheckedReplay, _ restored: inout CheckedReplay, on more: [Request],
                                     file: StaticString = #filePath, line: UInt = #line) {
        let before = original.hits.count
        original.run(more)
        restored.run(more)
        XCTAssertEqual(Array(original.hits[before...]), restored.hits, file: file, line: line)
        XCTAssertEqual(Array(original.evictions[before...]), restored.evictions, file: file, line: line)
    }

    func testSwitchesToTheCandidateThatHitsMoreWithoutEvicting() {
        var lru = CheckedReplay(LRUPolicy(capacity: 100))
        lru.run(loop(passes: 40))
        XCTAssertEqual(lru.hits.filter { $0 }.count, 0, "LRU loses a loop larger than the cache")

        let p = DuelingPolicy(capacity: 100, candidates: [.lru, .s3fifo])
        var replay = CheckedReplay(p)  // checks that a switch drops no resident silently
        replay.run(loop(passes: 40))
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.switches, 1)
        XCTAssertEqual(p.count, 100)
        let before = replay.hits.count
        replay.run(loop(passes: 2))
        XCTAssertGreaterThan(replay.hits[before...].filter { $0 }.count, 50, "S3-FIFO now serves and hits")
    }

    func testStaysWithTheFirstCandidateWhileItLeads() {
        let p = DuelingPolicy(capacity: 100, candidates: [.s3fifo, .lru])
        var replay = CheckedReplay(p)
        replay.run(loop(passes: 40))
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.switches, 0)
    }

    /// Shadows are sampled so that their work per request stays bounded: at
    /// 100,000 entries one key in 64 reaches them, at 1/64 of the capacity.
    func testShadowsSampleLargeCaches() {
        let p = DuelingPolicy(capacity: 100_000)
        XCTAssertTrue(p.shadows.isEmpty, "no shadows before the cache is full")
        for k in 0..<100_001 { _ = p.recordMiss(UInt64(k), size: 1) }
        XCTAssertEqual(p.sampleMask, 63)
        XCTAssertEqual(p.shadows.map(\.capacity), [1_562, 1_562])
        // About 1/64 of fresh keys are sampled into the shadows.
        for k in 200_000..<264_000 { _ = p.recordMiss(UInt64(k), size: 1) }
        let shadowed = p.shadows[1].count
        XCTAssertGreaterThan(shadowed, 800)
        XCTAssertLessThanOrEqual(shadowed, 1_562)
        let small = DuelingPolicy(capacity: 500)
        for k in 0..<501 { _ = small.recordMiss(UInt64(k), size: 1) }
        XCTAssertEqual(small.sampleMask, 0, "small caches shadow every key")
    }

    /// The sample is drawn by a hash of its own: with the sketch's, every
    /// sampled key had the low bits of its sketch hash clear and a shadow's
    /// sketch counted in only the first 4 of each word's 16 counters.
    func testSampledKeysSpreadOverTheWholeSketch() {
        var sketch = FrequencySketch(entries: 64, doorkeeper: false)
        let sampled = (0..<UInt64(100_000)).filter { DuelingPolicy.isSampled($0, mask: 63) }.prefix(500)
        XCTAssertEqual(sampled.count, 500)
        for k in sampled { sketch.increment(k) }
        XCTAssertGreaterThan(sketch.table.filter { $0 >> 16 != 0 }.count, sketch.table.count / 2,
                             "counters beyond each word's first four are used")
    }

    /// Where the shadows sample, a lasting lead still switches (the slow
    /// score follows it within a few epochs), and the slow scores are saved
    /// with the state: a restored duel decides the same.
    func testASampledCacheSwitchesOnALastingLeadAndRestoresItsSlowScores() {
        let make = { DuelingPolicy(capacity: 5_000, candidates: [.lru, .s3fifo]) }
        var replay = CheckedReplay(make())
        let p = replay.policy as! DuelingPolicy
        replay.run(loop(passes: 8, keys: 7_500))
        XCTAssertEqual(p.sampleMask, 3)
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.switches, 1)
        let fresh = make()
        assertRestoresToTheSameDecisions(&replay, into: fresh, seed: 31)
        XCTAssertEqual(fresh.slowScores, p.slowScores)
    }

    /// After a switch, a snapshot (tagged entry states and global state with
    /// the shadows) restored into a fresh policy serves with the same
    /// candidate and makes exactly the same decisions.
    func testRestoreAfterASwitchKeepsTheChoiceAndTheDecisions() {
        let make = { DuelingPolicy(capacity: 100, candidates: [.lru, .s3fifo]) }
        var original = CheckedReplay(make())
        original.run(loop(passes: 40))
        let entries = original.resident.map { key, size in (key: key, size: size, state: original.policy.state(of: key)!) }
        let global = original.policy.exportGlobalState()

        let fresh = make()
        XCTAssertEqual(fresh.restore(entries), [])
        XCTAssertTrue(fresh.importGlobalState(global))
        XCTAssertEqual(fresh.active, .s3fifo)
        for e in entries { XCTAssertEqual(fresh.state(of: e.key), e.state) }

        var restored = CheckedReplay(fresh, resident: original.resident)
        assertSameDecisions(&original, &restored, on: loop(passes: 3) + TraceGenerator.skewed(seed: 21, requests: 5_000, keys: 400))
    }

    /// A store written while plain W-TinyLFU was the default (untagged entry
    /// states, W-TinyLFU's own global state) is taken over as it is.
    func testTakesOverAPlainWTinyLFUSnapshot() {
        assertTakesOverAWTinyLFUStore(DuelingPolicy(capacity: 200), seed: 22)
    }

    /// Restores a plain W-TinyLFU's snapshot (200 entries after a skewed run)
    /// into `p`: W-TinyLFU serves, with every entry's state tagged as its
    /// candidate's; returns both W-TinyLFUs.
    @discardableResult
    private func assertTakesOverAWTinyLFUStore(_ p: DuelingPolicy, seed: UInt64,
                                               line: UInt = #line) -> (old: WTinyLFUPolicy, new: WTinyLFUPolicy?) {
        let old = WTinyLFUPolicy(capacity: 200)
        var replay = CheckedReplay(old)
        replay.run(TraceGenerator.skewed(seed: seed, requests: 10_000, keys: 1_000))
        let entries = replay.resident.map { key, size in (key: key, size: size, state: old.state(of: key)!) }
        XCTAssertEqual(p.restore(entries), [], line: line)
        XCTAssertTrue(p.importGlobalState(old.exportGlobalState()), line: line)
        XCTAssertEqual(p.active, .wtinylfu, line: line)
        let tag = UInt64(p.candidates.firstIndex(of: .wtinylfu)! + 1)
        for e in entries {
            XCTAssertEqual(p.state(of: e.key)?.word, e.state.word | tag << 56, line: line)
            XCTAssertEqual(p.state(of: e.key)?.sequence, e.state.sequence, line: line)
        }
        return (old, p.policy as? WTinyLFUPolicy)
    }

    /// Entries saved while another candidate served are translated by
    /// standing and all kept.
    func testEntriesOfAnotherCandidateAreTranslated() {
        let p = DuelingPolicy(capacity: 50, candidates: [.wtinylfu, .s3fifo])
        _ = p.recordMiss(1, size: 1)  // not empty: restore does not switch candidate
        let s3fifoMain = PolicyEntryState(word: 2 << 56 | 1 << 8 | 1, sequence: 7)
        let s3fifoSmall = PolicyEntryState(word: 2 << 56, sequence: 8)
        XCTAssertEqual(p.restore([(key: 10, size: 1, state: s3fifoMain), (key: 11, size: 1, state: s3fifoSmall)]), [])
        XCTAssertEqual(p.active, .wtinylfu)
        XCTAssertEqual(p.state(of: 10), PolicyEntryState(word: 1 << 56 | 2, sequence: 7), "seen often: protected")
        XCTAssertEqual(p.state(of: 11), PolicyEntryState(word: 1 << 56 | 0, sequence: 8), "new: window")
    }

    /// While LRU serves, W-TinyLFU's sketch keeps counting; the W-TinyLFU
    /// that takes over admits by those frequencies, not by empty counters.
    func testWTinyLFUTakingOverGetsTheKeptFrequencies() throws {
        let p = DuelingPolicy(capacity: 100, candidates: [.lru, .wtinylfu])
        XCTAssertNotNil(p.keptSketch, "LRU serves first and has no sketch")
        var replay = CheckedReplay(p)
        for r in loop(passes: 40) where p.switches == 0 { replay.step(r) }
        XCTAssertEqual(p.active, .wtinylfu, "W-TinyLFU keeps part of the loop, LRU none of it")
        XCTAssertNil(p.keptSketch, "W-TinyLFU counts in its own sketch")
        let w = try XCTUnwrap(p.policy as? WTinyLFUPolicy)
        // Each loop key was requested about a dozen times before the switch;
        // a new sketch would hold at most the one request that switched.
        let estimates = (0..<150).map { w.estimatedFrequency(UInt64($0)) }
        XCTAssertGreaterThanOrEqual(estimates.min()!, 4)
        XCTAssertEqual(p.count, 100, "the switch evicted nothing")
    }

    /// A snapshot taken while LRU serves carries the kept sketch: restored,
    /// the policy switches at the same request and W-TinyLFU then decides
    /// exactly as in the run that never stopped.
    func testRestoreKeepsTheKeptSketch() {
        let make = { DuelingPolicy(capacity: 100, candidates: [.lru, .wtinylfu]) }
        var original = CheckedReplay(make())
        original.run(loop(passes: 8))
        let p = original.policy as! DuelingPolicy
        XCTAssertEqual(p.active, .lru, "snapshot before the switch")
        let entries = original.resident.map { key, size in (key: key, size: size, state: p.state(of: key)!) }
        let global = p.exportGlobalState()

        let fresh = make()
        XCTAssertEqual(fresh.restore(entries), [])
        XCTAssertTrue(fresh.importGlobalState(global))
        for k in 0..<150 {
            XCTAssertEqual(fresh.keptSketch?.frequency(UInt64(k)), p.keptSketch?.frequency(UInt64(k)))
        }
        var restored = CheckedReplay(fresh, resident: original.resident)
        assertSameDecisions(&original, &restored, on: loop(passes: 30) + TraceGenerator.skewed(seed: 23, requests: 5_000, keys: 400))
        XCTAssertEqual(p.switches, 1)
        XCTAssertEqual(fresh.switches, 1)
    }

    /// `dueling-s3fifo` serves with S3-FIFO first (W-TinyLFU with an adaptive
    /// and with a fixed window the other candidates) and names its saved state
    /// apart from `dueling`'s, so neither takes the other's.
    func testS3FIFOFirstIsAPolicyOfItsOwn() {
        let p = makePolicy(.duelingS3FIFO, capacity: 100) as! DuelingPolicy
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.candidates, [.s3fifo, .wtinylfu, .wtinylfuFixed])
        XCTAssertEqual(p.name, "dueling-s3fifo-wtinylfu-wtinylfu-fixed")
        for k in 0..<300 { _ = p.recordMiss(UInt64(k % 130), size: 1) }
        XCTAssertFalse(DuelingPolicy(capacity: 100).importGlobalState(p.exportGlobalState()))
    }

    /// The lead must be more than noise: the same loop that makes S3-FIFO take
    /// over from LRU switches nothing when the paired test asks for a lead of
    /// a thousand standard deviations, which no finite run gives.
    func testALeadWithinTheConfidenceDoesNotSwitch() {
        let strict = DuelingPolicy(capacity: 100, candidates: [.lru, .s3fifo], confidence: 1_000)
        var replay = CheckedReplay(strict)
        replay.run(loop(passes: 40))
        XCTAssertEqual(strict.active, .lru)
        XCTAssertEqual(strict.switches, 0)
        let usual = DuelingPolicy(capacity: 100, candidates: [.lru, .s3fifo], confidence: DuelingPolicy.significantLead)
        var again = CheckedReplay(usual)
        again.run(loop(passes: 40))
        XCTAssertEqual(usual.active, .s3fifo, "the same run with the usual confidence switches")
        XCTAssertEqual(usual.switches, 1)
    }

    /// Segmented TinyLFU as a candidate: it takes over from LRU on a loop with
    /// the kept frequencies, evicting nothing, and a snapshot taken while it
    /// serves restores to the same decisions.
    func testSegmentedTinyLFUTakesOverWithTheKeptSketchAndRestores() throws {
        let make = { DuelingPolicy(capacity: 100, candidates: [.lru, .segmentedTinyLFU], confidence: DuelingPolicy.significantLead) }
        let p = make()
        XCTAssertNotNil(p.keptSketch)
        var replay = CheckedReplay(p)
        for r in loop(passes: 40) where p.switches == 0 { replay.step(r) }
        XCTAssertEqual(p.active, .segmentedTinyLFU)
        XCTAssertNil(p.keptSketch, "segmented TinyLFU counts in its own sketch")
        let s = try XCTUnwrap(p.policy as? SegmentedTinyLFUPolicy)
        XCTAssertGreaterThanOrEqual((0..<150).map { s.frequencySketch.frequency(UInt64($0)) }.min()!, 4)
        XCTAssertEqual(p.count, 100, "the switch evicted nothing")

        replay.run(loop(passes: 3))
        XCTAssertEqual(p.active, .segmentedTinyLFU)
        assertRestoresToTheSameDecisions(&replay, into: make(), seed: 24)
    }

    /// Snapshots `replay`'s duel (tagged entry states, global state), restores
    /// it into `fresh`: the same candidate serves, every state comes back, and
    /// both make the same decisions on `seed`'s trace.
    private func assertRestoresToTheSameDecisions(_ replay: inout CheckedReplay, into fresh: DuelingPolicy, seed: UInt64,
                                                  line: UInt = #line) {
        let p = replay.policy as! DuelingPolicy
        let entries = replay.resident.map { key, size in (key: key, size: size, state: p.state(of: key)!) }
        XCTAssertEqual(fresh.restore(entries), [], line: line)
        XCTAssertTrue(fresh.importGlobalState(p.exportGlobalState()), line: line)
        XCTAssertEqual(fresh.active, p.active, line: line)
        for e in entries { XCTAssertEqual(fresh.state(of: e.key), e.state, line: line) }
        var restored = CheckedReplay(fresh, resident: replay.resident)
        assertSameDecisions(&replay, &restored, on: loop(passes: 5) + TraceGenerator.skewed(seed: seed, requests: 5_000, keys: 400),
                            line: line)
    }

    /// A store saved by plain W-TinyLFU (the default) and opened with
    /// `dueling-segmented` comes back with W-TinyLFU serving, every entry kept
    /// with its state, and its sketch.
    func testDuelingSegmentedTakesOverAWTinyLFUStore() throws {
        let p = try XCTUnwrap(makePolicy(.duelingSegmented, capacity: 200) as? DuelingPolicy)
        XCTAssertEqual(p.candidates, [.s3fifo, .segmentedTinyLFU, .wtinylfu, .wtinylfuFixed])
        let (old, new) = assertTakesOverAWTinyLFUStore(p, seed: 25)
        let w = try XCTUnwrap(new)
        for k in 0..<1_000 { XCTAssertEqual(w.estimatedFrequency(UInt64(k)), old.estimatedFrequency(UInt64(k))) }
    }

    /// The default is `dueling-promoted`: the candidates of
    /// `dueling-segmented` with W-TinyLFU serving first, under a name of its
    /// own, and promoted shadows (`dueling-wtinylfu-first`, the default before
    /// it, is the same without them). A store of plain W-TinyLFU (the default
    /// before both) is taken over with its states and sketch.
    func testTheDefaultServesWTinyLFUFirstAndTakesOverItsStore() throws {
        let p = try XCTUnwrap(makePolicy(.default, capacity: 200) as? DuelingPolicy)
        XCTAssertEqual(PolicyKind.default.resolved, .duelingPromoted)
        XCTAssertTrue(p.promotesShadows)
        XCTAssertFalse((makePolicy(.duelingWTinyLFUFirst, capacity: 200) as! DuelingPolicy).promotesShadows)
        XCTAssertEqual(p.candidates, [.wtinylfu, .s3fifo, .segmentedTinyLFU, .wtinylfuFixed])
        XCTAssertEqual(p.active, .wtinylfu)
        XCTAssertEqual(p.name, "dueling-wtinylfu-s3fifo-segmented-tinylfu-wtinylfu-fixed")
        XCTAssertFalse(makePolicy(.duelingSegmented, capacity: 200).importGlobalState(p.exportGlobalState()))
        let (old, new) = assertTakesOverAWTinyLFUStore(p, seed: 26)
        let w = try XCTUnwrap(new)
        for k in 0..<1_000 { XCTAssertEqual(w.estimatedFrequency(UInt64(k)), old.estimatedFrequency(UInt64(k))) }
    }

    /// The default's state round-trips after a switch: on a loop larger than
    /// the cache another candidate takes over from W-TinyLFU; a snapshot then
    /// (tagged entry states, global state with the shadows and the kept
    /// sketch) restores to the same candidate and the same decisions.
    func testTheDefaultRestoresAfterASwitchToTheSameDecisions() throws {
        let make = { makePolicy(.default, capacity: 100) as! DuelingPolicy }
        var original = CheckedReplay(make())
        let p = original.policy as! DuelingPolicy
        for r in loop(passes: 60) where p.switches == 0 { original.step(r) }
        XCTAssertEqual(p.switches, 1)
        XCTAssertNotEqual(p.active, .wtinylfu)
        XCTAssertEqual(p.count, 100, "the switch evicted nothing")
        original.run(loop(passes: 2))
        assertRestoresToTheSameDecisions(&original, into: make(), seed: 27)
    }

    // MARK: - Promoted shadows

    /// Shadows start at the first eviction, never before (a cache that never
    /// fills runs no shadows: most sites' caches); full-size in a small cache,
    /// sampled in a large one.
    func testShadowsStartAtTheFirstEvictionFullSizeWhileTheCacheIsSmall() {
        let small = DuelingPolicy(capacity: 500, promotesShadows: true)
        for k in 0..<500 { _ = small.recordMiss(UInt64(k), size: 1) }
        XCTAssertTrue(small.shadows.isEmpty, "no shadows while the cache has room")
        XCTAssertFalse(small.shadowsSettled)
        for k in 500..<600 { _ = small.recordMiss(UInt64(k), size: 1) }
        XCTAssertTrue(small.shadowsSettled)
        XCTAssertEqual(small.sampleMask, 0)
        XCTAssertEqual(small.shadows.map(\.capacity), [500, 500])

        let large = DuelingPolicy(capacity: 100_000, promotesShadows: true)
        for k in 0..<100_000 { _ = large.recordMiss(UInt64(k), size: 1) }
        XCTAssertTrue(large.shadows.isEmpty)
        for k in 100_000..<100_100 { _ = large.recordMiss(UInt64(k), size: 1) }
        XCTAssertEqual(large.sampleMask, 63)
        XCTAssertEqual(large.shadows.map(\.capacity), [1_562, 1_562])
    }

    /// Before the first eviction a small cache only records its requests; at
    /// the first eviction they are replayed into the new full-size shadows,
    /// which then stand exactly as the candidates fed every request from the
    /// first one (removals too, sized entries).
    func testRecordedFirstRequestsSeedTheShadowsAsIfTheyRanFromTheStart() throws {
        let p = try XCTUnwrap(makePolicy(.default, capacity: 1_000) as? DuelingPolicy)
        let references = p.candidates.map { DuelingPolicy.make($0, capacity: 1_000) }
        var replay = CheckedReplay(p)
        let trace = TraceGenerator.skewed(seed: 31, requests: 20_000, keys: 150, maxSize: 20)
        var fed = 0
        for (n, r) in trace.enumerated() where !p.shadowsSettled {
            if n == 40 {
                replay.remove(r.key)
                for s in references { s.remove(r.key) }
            }
            replay.step(r)
            for s in references {
                if s.contains(r.key) { s.recordHit(r.key) } else { _ = s.recordMiss(r.key, size: r.size) }
            }
            fed = n + 1
            if !p.shadowsSettled { XCTAssertEqual(p.firstRequests.count, n + 1 + (n >= 40 ? 1 : 0)) }
        }
        XCTAssertTrue(p.shadowsSettled)
        XCTAssertGreaterThan(fed, 1_000, "the first eviction came after more than an epoch of requests")
        XCTAssertTrue(p.firstRequests.isEmpty, "the record goes at the first eviction")
        XCTAssertFalse(p.recordsFirstRequests)
        XCTAssertEqual(p.sampleMask, 0)
        XCTAssertGreaterThan(p.epochs, 0, "the replay closed epochs")
        for (shadow, reference) in zip(p.shadows, references) {
            let order = { (e: [(key: UInt64, size: Int, state: PolicyEntryState)]) in e.sorted { $0.key < $1.key } }
            let seeded = order(shadow.residentEntries()), expected = order(reference.residentEntries())
            XCTAssertEqual(seeded.map(\.key), expected.map(\.key), shadow.name)
            XCTAssertEqual(seeded.map(\.size), expected.map(\.size), shadow.name)
            XCTAssertEqual(seeded.map(\.state), expected.map(\.state), shadow.name)
            XCTAssertEqual(shadow.exportGlobalState(), reference.exportGlobalState(), shadow.name)
        }
    }

    /// The record is bounded: a cache that never evicts gives it up past
    /// `firstRequestFactor` times its entries (at least `shadowEntries`), and
    /// one that outgrows full-size shadows as soon as it does; their shadows
    /// then start empty at the first eviction.
    func testTheRecordOfTheFirstRequestsIsBounded() {
        let p = DuelingPolicy(capacity: 1_000, promotesShadows: true)
        for k in 0..<100 { _ = p.recordMiss(UInt64(k), size: 1) }
        var n = 100
        while p.recordsFirstRequests {
            p.recordHit(UInt64(n % 100))
            n += 1
        }
        XCTAssertEqual(n, DuelingPolicy.firstRequestFactor * DuelingPolicy.shadowEntries + 1)
        XCTAssertTrue(p.firstRequests.isEmpty)
        for k in 100..<1_100 where !p.shadowsSettled { _ = p.recordMiss(UInt64(k), size: 1) }
        XCTAssertTrue(p.shadowsSettled)
        XCTAssertTrue(p.shadows.allSatisfy { $0.count == 0 }, "shadows start empty without the record")

        // Past what the widest sampling keeps at a shadow's size, nothing is recorded.
        let widest = 2 * DuelingPolicy.shadowEntries * Int(DuelingPolicy.maxSampling)
        let huge = DuelingPolicy(capacity: 2 * widest, promotesShadows: true)
        for k in 0..<(widest - 1) { _ = huge.recordMiss(UInt64(k), size: 1) }
        XCTAssertTrue(huge.recordsFirstRequests)
        XCTAssertEqual(huge.recordMask, DuelingPolicy.maxSampling - 1)
        XCTAssertLessThanOrEqual(huge.firstRequests.count, huge.firstRequestLimit)
        _ = huge.recordMiss(UInt64(widest), size: 1)
        XCTAssertFalse(huge.recordsFirstRequests, "the shadows would hold more than their size")
        XCTAssertTrue(huge.firstRequests.isEmpty)
        XCTAssertFalse(DuelingPolicy(capacity: 1_000).recordsFirstRequests, "only a promoting duel records")
    }

    /// A cache too large for full-size shadows records only the requests of
    /// the keys its shadows would sample were it full now (thinned as it
    /// grows: sampled keys nest), and at the first eviction its sampled
    /// shadows are seeded with them: they stand as shadows fed the sampled
    /// requests from the first one (on ARC P12 at 1% of objects the duel
    /// then chose sooner: 17.11% -> 17.49%).
    func testASampledCacheSeedsItsShadowsWithItsSampledKeys() {
        let capacity = 6 * DuelingPolicy.shadowEntries
        let p = DuelingPolicy(capacity: capacity, candidates: [.wtinylfu, .s3fifo, .segmentedTinyLFU, .wtinylfuFixed],
                              confidence: DuelingPolicy.significantLead, promotesShadows: true)
        let mask = DuelingPolicy.samplingRate(entries: capacity) - 1
        XCTAssertEqual(mask, 3)
        let references = p.candidates.map { DuelingPolicy.make($0, capacity: p.shadowCapacity(mask: mask)) }
        var replay = CheckedReplay(p)
        let trace = TraceGenerator.skewed(seed: 33, requests: 200_000, keys: 3 * capacity, maxSize: 1)
        var thinned = false
        for r in trace where !p.shadowsSettled {
            if p.recordMask != 0 { thinned = true }
            replay.step(r)
            if DuelingPolicy.isSampled(r.key, mask: mask) {
                for s in references {
                    if s.contains(r.key) { s.recordHit(r.key) } else { _ = s.recordMiss(r.key, size: r.size) }
                }
            }
            if !p.shadowsSettled {
                XCTAssertTrue(p.recordsFirstRequests)
                XCTAssertTrue(p.firstRequests.allSatisfy { DuelingPolicy.isSampled($0.key, mask: p.recordMask) })
                XCTAssertEqual(p.recordMask, DuelingPolicy.samplingRate(entries: p.count) - 1)
            }
        }
        XCTAssertTrue(thinned, "the record was thinned as the cache grew")
        XCTAssertTrue(p.shadowsSettled)
        XCTAssertEqual(p.sampleMask, mask)
        XCTAssertTrue(p.firstRequests.isEmpty, "the record goes at the first eviction")
        for (shadow, reference) in zip(p.shadows, references) {
            XCTAssertGreaterThan(reference.count, 0)
            let order = { (e: [(key: UInt64, size: Int, state: PolicyEntryState)]) in e.sorted { $0.key < $1.key } }
            let seeded = order(shadow.residentEntries()), expected = order(reference.residentEntries())
            XCTAssertEqual(seeded.map(\.key), expected.map(\.key), shadow.name)
            XCTAssertEqual(seeded.map(\.state), expected.map(\.state), shadow.name)
            XCTAssertEqual(shadow.exportGlobalState(), reference.exportGlobalState(), shadow.name)
        }
    }

    /// A thinned record is saved and restored with its sampling.
    func testAThinnedRecordIsSavedWithTheState() {
        let capacity = 6 * DuelingPolicy.shadowEntries
        let make = { makePolicy(.default, capacity: capacity) as! DuelingPolicy }
        var original = CheckedReplay(make())
        let p = original.policy as! DuelingPolicy
        original.run(TraceGenerator.skewed(seed: 34, requests: 20_000, keys: 3 * capacity, maxSize: 1).prefix(5_000))
        XCTAssertFalse(p.shadowsSettled)
        XCTAssertNotEqual(p.recordMask, 0)
        let fresh = make()
        XCTAssertEqual(fresh.restore(original.resident.map { key, size in (key: key, size: size, state: p.state(of: key)!) }), [])
        XCTAssertTrue(fresh.importGlobalState(p.exportGlobalState()))
        XCTAssertTrue(fresh.recordsFirstRequests)
        XCTAssertEqual(fresh.recordMask, p.recordMask)
        XCTAssertEqual(fresh.firstRequestLimit, p.firstRequestLimit)
        XCTAssertEqual(fresh.firstRequests.map(\.key), p.firstRequests.map(\.key))
        XCTAssertEqual(fresh.exportGlobalState(), p.exportGlobalState())
    }

    /// The record is saved with the state before the first eviction and comes
    /// back with it, so the restored duel seeds the same shadows; state saved
    /// without it (before this, or after it was given up) records nothing.
    func testTheFirstRequestsAreSavedWithTheState() throws {
        let make = { makePolicy(.default, capacity: 300) as! DuelingPolicy }
        var original = CheckedReplay(make())
        let p = original.policy as! DuelingPolicy
        let trace = TraceGenerator.skewed(seed: 32, requests: 20_000, keys: 150, maxSize: 20)
        original.run(trace.prefix(500))
        XCTAssertTrue(p.recordsFirstRequests)
        let entries = original.resident.map { key, size in (key: key, size: size, state: p.state(of: key)!) }
        let fresh = make()
        XCTAssertEqual(fresh.restore(entries), [])
        XCTAssertFalse(fresh.recordsFirstRequests, "restored entries the record does not know end it")
        XCTAssertTrue(fresh.importGlobalState(p.exportGlobalState()))
        XCTAssertTrue(fresh.recordsFirstRequests)
        XCTAssertEqual(fresh.firstRequests.map(\.key), p.firstRequests.map(\.key))
        XCTAssertEqual(fresh.firstRequests.map(\.size), p.firstRequests.map(\.size))
        XCTAssertEqual(fresh.exportGlobalState(), p.exportGlobalState())
        var restored = CheckedReplay(fresh, resident: original.resident)
        for r in trace.dropFirst(500) where !p.shadowsSettled {
            original.step(r)
            restored.step(r)
        }
        XCTAssertTrue(fresh.shadowsSettled)
        XCTAssertEqual(fresh.exportGlobalState(), p.exportGlobalState(), "the same seeded shadows and scores")

        // Without the section (the 8-byte tag, the count and 16 bytes a record).
        var early = CheckedReplay(make())
        early.run(trace.prefix(100))
        let q = early.policy as! DuelingPolicy
        var global = q.exportGlobalState()
        global.removeLast(16 + 16 * q.firstRequests.count)
        XCTAssertEqual(Array(global.suffix(16)), [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "the settled section ends it")
        let older = make()
        XCTAssertEqual(older.restore(early.resident.map { key, size in (key: key, size: size, state: q.state(of: key)!) }), [])
        XCTAssertTrue(older.importGlobalState(global))
        XCTAssertFalse(older.recordsFirstRequests)
    }

    /// What a promoted switch hands over: the resident entries the shadow
    /// holds with the shadow's exact states, in the shadow's order, after the
    /// others (kept by the serving policy alone), which come as the oldest
    /// entries seen often; sequences above the serving policy's.
    func testPromotedEntriesKeepTheShadowsStates() {
        let shadow = S3FIFOPolicy(capacity: 10)
        for k: UInt64 in [1, 2, 3, 4] { _ = shadow.recordMiss(k, size: 1) }
        shadow.recordHit(2)
        let resident: [(key: UInt64, size: Int, state: PolicyEntryState)] = [
            (key: 2, size: 1, state: PolicyEntryState(word: 0, sequence: 50)),
            (key: 9, size: 1, state: PolicyEntryState(word: 0, sequence: 70)),
            (key: 4, size: 1, state: PolicyEntryState(word: 0, sequence: 60)),
            (key: 8, size: 1, state: PolicyEntryState(word: 0, sequence: 40)),
        ]
        let out = DuelingPolicy.promotedEntries(resident, shadow: shadow, to: S3FIFOPolicy.self)
        XCTAssertEqual(out.map(\.key), [8, 9, 2, 4], "kept by the serving policy alone first (in its order), then the shadow's (in its FIFO order)")
        XCTAssertEqual(out.map(\.state.sequence), [71, 72, 73, 74])
        XCTAssertEqual(out[0].state.word, S3FIFOPolicy.state(standing: 2, sequence: 0).word)
        XCTAssertEqual(out[1].state.word, S3FIFOPolicy.state(standing: 2, sequence: 0).word)
        XCTAssertEqual(out[2].state.word, shadow.state(of: 2)!.word)
        XCTAssertEqual(out[3].state.word, shadow.state(of: 4)!.word)
        XCTAssertNotEqual(out[2].state.word, out[3].state.word, "2 was hit in the shadow, 4 not")
    }

    /// A switch with full-size shadows promotes the shadow: nothing is
    /// evicted and the new S3-FIFO holds the shadow's states for nearly every
    /// entry both hold (the request that switched can move a few).
    func testASwitchPromotesTheFullSizeShadow() throws {
        let p = DuelingPolicy(capacity: 100, candidates: [.lru, .s3fifo], promotesShadows: true)
        var replay = CheckedReplay(p)
        var shadowBefore: [UInt64: PolicyEntryState] = [:]
        for r in loop(passes: 40) where p.switches == 0 {
            if p.shadows.count == 2 {  // from the first eviction
                shadowBefore = Dictionary(uniqueKeysWithValues: p.shadows[1].residentEntries().map { ($0.key, $0.state) })
            }
            replay.step(r)
        }
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.count, 100, "the switch evicted nothing")
        let new = try XCTUnwrap(p.policy as? S3FIFOPolicy)
        let both = replay.resident.keys.filter { shadowBefore[$0] != nil }
        let same = both.filter { new.state(of: $0)?.word == shadowBefore[$0]!.word }
        XCTAssertGreaterThan(both.count, 10)
        XCTAssertGreaterThanOrEqual(same.count, both.count - 3)
    }

    /// The promoted shadow's global state comes along: a W-TinyLFU taking
    /// over from LRU on a loop gets its shadow's ghosts (the loop keys it
    /// evicted, which steer its window); a plain switch starts without any.
    func testAPromotedWTinyLFUKeepsItsShadowsGhosts() throws {
        for promoting in [true, false] {
            let p = DuelingPolicy(capacity: 100, candidates: [.lru, .wtinylfu], promotesShadows: promoting)
            var replay = CheckedReplay(p)
            for r in loop(passes: 40) where p.switches == 0 { replay.step(r) }
            XCTAssertEqual(p.active, .wtinylfu)
            let w = try XCTUnwrap(p.policy as? WTinyLFUPolicy)
            let ghosts = (0..<150).map(UInt64.init).filter(w.isGhost)
            if promoting {
                let shadow = p.shadows[1] as! WTinyLFUPolicy
                let expected = (0..<150).map(UInt64.init).filter { shadow.isGhost($0) && !w.contains($0) }
                XCTAssertGreaterThan(expected.count, 20)
                XCTAssertGreaterThanOrEqual(ghosts.count, expected.count - 2)
            } else {
                XCTAssertLessThanOrEqual(ghosts.count, 1, "the request that switched may leave one")
            }
        }
    }

    /// A snapshot of a promoting duel taken before its first eviction (no
    /// shadows yet) and one taken after a promoted switch each restore to the
    /// same decisions.
    func testPromotingDuelRestoresBeforeAndAfterASwitch() {
        let make = { DuelingPolicy(capacity: 100, candidates: [.lru, .s3fifo], promotesShadows: true) }
        var early = CheckedReplay(make())
        early.run(loop(passes: 1, keys: 60))
        XCTAssertFalse((early.policy as! DuelingPolicy).shadowsSettled)
        let fresh = make()
        assertRestoresToTheSameDecisions(&early, into: fresh, seed: 28)
        XCTAssertTrue(fresh.shadowsSettled, "the replay after the restore filled it")

        var original = CheckedReplay(make())
        let p = original.policy as! DuelingPolicy
        for r in loop(passes: 40) where p.switches == 0 { original.step(r) }
        XCTAssertEqual(p.active, .s3fifo)
        original.run(loop(passes: 2))
        assertRestoresToTheSameDecisions(&original, into: make(), seed: 29)
    }

    /// State saved before the settled flag existed (shadows then existed only
    /// once settled) is taken by the promoting default: the shadows count as
    /// settled and decisions go on as in the run that saved it.
    func testTheDefaultTakesOverTheStateOfTheDefaultBeforeIt() {
        var old = CheckedReplay(makePolicy(.duelingWTinyLFUFirst, capacity: 100))
        old.run(TraceGenerator.skewed(seed: 30, requests: 3_000, keys: 400))
        let p = old.policy as! DuelingPolicy
        var global = p.exportGlobalState()
        XCTAssertEqual(Array(global.suffix(16)), [3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], "the settled section ends it")
        global.removeLast(16)
        let entries = old.resident.map { key, size in (key: key, size: size, state: p.state(of: key)!) }
        let fresh = makePolicy(.default, capacity: 100) as! DuelingPolicy
        XCTAssertEqual(fresh.restore(entries), [])
        XCTAssertTrue(fresh.importGlobalState(global))
        XCTAssertTrue(fresh.shadowsSettled)
        XCTAssertEqual(fresh.active, p.active)
    }
}
