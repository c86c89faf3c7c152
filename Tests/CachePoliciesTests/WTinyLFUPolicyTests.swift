import XCTest
@testable import CachePolicies

final class WTinyLFUPolicyTests: XCTestCase {
    /// A hot set survives a long one-off scan (LRU, for contrast, loses it).
    func testOneOffScanDoesNotFlushTheHotSet() {
        let hot = (0..<50).map { Request(key: UInt64($0), size: 1) }
        let scan = (0..<5_000).map { Request(key: 1_000 + UInt64($0), size: 1) }
        for kind in [PolicyKind.default, .lru] {
            var replay = CheckedReplay(makePolicy(kind, capacity: 200))
            for _ in 0..<20 { replay.run(hot) }
            replay.run(scan)
            let kept = hot.filter { replay.policy.contains($0.key) }.count
            if kind == .lru {
                XCTAssertEqual(kept, 0)
            } else {
                XCTAssertEqual(kept, 50, "every hot key is still resident after the scan")
                let before = replay.hits.count
                replay.run(hot)
                XCTAssertEqual(replay.hits[before...].filter { $0 }.count, 50)
            }
        }
    }

    func testSizedCapacityIsNeverExceeded() {
        let trace = TraceGenerator.skewed(seed: 11, requests: 30_000, keys: 4_000, maxSize: 50_000)
        let p = makePolicy(.default, capacity: 1_000_000)
        var replay = CheckedReplay(p)
        replay.run(trace)  // checks used <= capacity after every request
        XCTAssertGreaterThan(p.used, 900_000)
    }

    /// A large newcomer must be more popular than all the small entries it
    /// would push out together, not just than the first of them.
    func testLargeCandidateMustOutweighAllItsVictims() {
        var config = WTinyLFUConfiguration()
        config.adaptation = .fixed
        config.largestShare = 1
        let p = WTinyLFUPolicy(capacity: 1_000, configuration: config)
        for round in 0..<3 {
            for k in 0..<100 { if round == 0 { _ = p.recordMiss(UInt64(k), size: 10) } else { p.recordHit(UInt64(k)) } }
        }
        XCTAssertEqual(p.count, 100)
        // Seen twice, 500 units: twice as frequent as any single victim, far
        // less than the fifty it needs.
        _ = p.recordMiss(7_000, size: 500)
        _ = p.recordMiss(7_000, size: 500)
        XCTAssertFalse(p.contains(7_000))
        XCTAssertEqual(p.count, 100)
        XCTAssertEqual(p.used, 1_000)
    }

    /// Once the cache is full, an entry over 2% of it is refused however often
    /// it is asked for, while one of 2% wins admission; before that, with room
    /// to spare, it displaces nothing and is admitted.
    func testEntriesAboveTheLargestShareAreRefusedOnceFull() {
        let p = makePolicy(.default, capacity: 10_000)
        XCTAssertTrue(p.recordMiss(1, size: 201).admitted, "room to spare")
        p.remove(1)
        for k: UInt64 in 100..<150 { XCTAssertTrue(p.recordMiss(k, size: 200).admitted) }
        XCTAssertEqual(p.used, 10_000)
        for _ in 0..<20 {
            let r = p.recordMiss(1, size: 201)
            XCTAssertFalse(r.admitted)
            XCTAssertEqual(r.evicted, [])
        }
        XCTAssertFalse(p.contains(1))
        XCTAssertEqual(p.count, 50)
        var admitted = false
        for _ in 0..<20 where !admitted { admitted = p.recordMiss(2, size: 200).admitted }
        XCTAssertTrue(admitted)
        XCTAssertTrue(p.contains(2))
        XCTAssertEqual(p.used, 10_000)
        // Unit-size caches smaller than 1 / largestShare still admit entries.
        let small = makePolicy(.default, capacity: 10)
        XCTAssertTrue(small.recordMiss(1, size: 1).admitted)
    }

    func testFrequentKeysWinAdmission() {
        var config = WTinyLFUConfiguration()
        config.adaptation = .fixed
        let p = WTinyLFUPolicy(capacity: 100, configuration: config)
        for k in 0..<100 { _ = p.recordMiss(UInt64(k), size: 1) }
        XCTAssertEqual(p.count, 100)
        // Key 500 is requested often while it keeps being refused or evicted.
        for _ in 0..<6 {
            if p.contains(500) { p.recordHit(500) } else { _ = p.recordMiss(500, size: 1) }
            for k in 600..<602 { _ = p.recordMiss(UInt64(k), size: 1) }
        }
        XCTAssertTrue(p.contains(500))
        XCTAssertGreaterThan(p.estimatedFrequency(500), p.estimatedFrequency(3))
    }

    /// `wtinylfu-fixed` keeps its 1% window on a loop larger than the cache,
    /// requests that move the ghost-driven window.
    func testFixedWindowStaysPut() throws {
        let fixed = try XCTUnwrap(makePolicy(.wtinylfuFixed, capacity: 1_000) as? WTinyLFUPolicy)
        let adaptive = WTinyLFUPolicy(capacity: 1_000)
        for _ in 0..<20 {
            for k in 0..<1_500 {
                for p in [fixed, adaptive] {
                    if p.contains(UInt64(k)) { p.recordHit(UInt64(k)) } else { _ = p.recordMiss(UInt64(k), size: 1) }
                }
            }
        }
        XCTAssertEqual(fixed.windowCapacity, 10)
        XCTAssertNotEqual(adaptive.windowCapacity, 10, "the same requests move the adaptive window")
    }
}
