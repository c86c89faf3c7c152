import XCTest
@testable import CachePolicies

/// SegmentedTinyLFUPolicy's own rules; the EvictionPolicy promises (reported
/// evictions, sizes, restore) are checked for it by PolicyContractTests.
final class SegmentedTinyLFUPolicyTests: XCTestCase {
    /// Capacity 100: window 30, main 70 (probation 14, protected 56).
    private func filled() -> (SegmentedTinyLFUPolicy, [UInt64]) {
        let p = SegmentedTinyLFUPolicy(capacity: 100)
        for k in 0..<100 as Range<UInt64> { XCTAssertEqual(p.recordMiss(k, size: 1).evicted, []) }
        XCTAssertEqual(p.count, 100)
        // The first miss past the capacity moves the 70 oldest to main (which
        // has room); the next window entry, seen as often as main's victim, loses.
        let r = p.recordMiss(1_000, size: 1)
        XCTAssertTrue(r.admitted)
        return (p, r.evicted)
    }

    func testAWindowEntryNoMoreFrequentThanMainsVictimIsEvicted() {
        let (p, evicted) = filled()
        XCTAssertEqual(evicted, [70])
        XCTAssertTrue(p.contains(0), "main's victim stays")
        XCTAssertTrue(p.contains(1_000))
        XCTAssertEqual(p.used, 100)
    }

    func testAWindowEntrySeenMoreOftenThanMainsVictimIsAdmitted() {
        let (p, _) = filled()
        // Key 70 comes back: counted once more on this miss, it now beats key 0
        // (seen twice) when it reaches the window's end; the one-time keys ahead
        // of it lose their contests.
        var evicted: [UInt64] = p.recordMiss(70, size: 1).evicted
        var fresh: UInt64 = 5_000
        while p.contains(0) && fresh < 5_100 {
            evicted += p.recordMiss(fresh, size: 1).evicted
            fresh += 1
        }
        XCTAssertFalse(p.contains(0), "main's victim gave way")
        XCTAssertTrue(p.contains(70))
        XCTAssertEqual(p.state(of: 70)?.word, 1, "70 is on probation")
        XCTAssertEqual(evicted.last, 0)
        XCTAssertEqual(Array(evicted.dropLast()), Array(71..<100) + [1_000], "every one-time key ahead of 70 lost")
        XCTAssertEqual(fresh, 5_030, "one eviction per miss")
    }

    func testAHitInMainPromotesAndHitsInTheWindowCountNothing() {
        let (p, _) = filled()
        XCTAssertEqual(p.state(of: 0)?.word, 1, "probation")
        p.recordHit(0)
        XCTAssertEqual(p.state(of: 0)?.word, 2, "protected after a hit")
        XCTAssertEqual(p.state(of: 1_000)?.word, 0, "window")
        p.recordHit(1_000)
        XCTAssertEqual(p.state(of: 1_000)?.word, 0, "a window hit stays in the window")
    }

    func testEntriesLargerThanTheWindowOrProbationAreRefused() {
        // Capacity 1,000: window 300, main 700, probation 140.
        let p = SegmentedTinyLFUPolicy(capacity: 1_000)
        let big = p.recordMiss(1, size: 141)
        XCTAssertFalse(big.admitted)
        XCTAssertFalse(p.contains(1))
        XCTAssertTrue(p.recordMiss(2, size: 140).admitted)
        XCTAssertEqual(p.used, 140)
    }

    func testGlobalStateFromAnotherPolicyOrCapacityIsRefused() {
        let (p, _) = filled()
        let state = p.exportGlobalState()
        XCTAssertFalse(state.isEmpty)
        XCTAssertTrue(SegmentedTinyLFUPolicy(capacity: 100).importGlobalState(state))
        XCTAssertFalse(SegmentedTinyLFUPolicy(capacity: 101).importGlobalState(state))
        XCTAssertFalse(WTinyLFUPolicy(capacity: 100).importGlobalState(state))
        XCTAssertFalse(SegmentedTinyLFUPolicy(capacity: 100).importGlobalState(Array(state.dropLast())))
    }
}
