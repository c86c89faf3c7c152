import XCTest
@testable import CachePolicies

final class LFUPolicyTests: XCTestCase {
    private func fill(_ p: LFUPolicy, _ keys: [UInt64]) {
        for k in keys { XCTAssertEqual(p.recordMiss(k, size: 1).evicted, []) }
    }

    func testEvictsLeastFrequentlyUsedFirst() {
        let p = LFUPolicy(capacity: 3)
        fill(p, [1, 2, 3])
        p.recordHit(1); p.recordHit(1); p.recordHit(2)  // counts 3, 2, 1
        XCTAssertEqual(p.recordMiss(4, size: 1).evicted, [3])
        XCTAssertEqual(p.recordMiss(5, size: 1).evicted, [4], "the newcomer has the lowest count")
        p.recordHit(5); p.recordHit(5); p.recordHit(5)  // 5 now has 4
        XCTAssertEqual(p.recordMiss(6, size: 1).evicted, [2])
        XCTAssertEqual(p.frequency(of: 1), 3)
        XCTAssertEqual(p.frequency(of: 5), 4)
        XCTAssertEqual(p.frequency(of: 6), 1)
    }

    func testTiesGoToTheLeastRecentlyUsed() {
        let p = LFUPolicy(capacity: 3)
        fill(p, [1, 2, 3])
        p.recordHit(3); p.recordHit(1); p.recordHit(2)  // all 2; recency 3 < 1 < 2
        XCTAssertEqual(p.recordMiss(4, size: 1).evicted, [3])
        p.recordHit(4)  // 4 joins count 2 as the most recent
        XCTAssertEqual(p.recordMiss(5, size: 1).evicted, [1])
        XCTAssertEqual(p.recordMiss(6, size: 1).evicted, [5])
        XCTAssertEqual(p.recordMiss(7, size: 1).evicted, [6])
        p.recordHit(7)
        XCTAssertEqual(p.recordMiss(8, size: 1).evicted, [2])
    }

    func testAgingEveryRequestsHalvesCounts() {
        let p = LFUPolicy(capacity: 4, aging: .everyRequests(10))
        fill(p, [1, 2])  // requests 1-2
        for _ in 0..<7 { p.recordHit(1) }  // 3-9: count 8
        XCTAssertEqual(p.frequency(of: 1), 8)
        p.recordHit(2)  // request 10: count 2, then every count halves
        XCTAssertEqual(p.frequency(of: 1), 4)
        XCTAssertEqual(p.frequency(of: 2), 1)
    }

    func testAgingLetsNewPopularityWin() {
        // Without aging, key 1's old popularity keeps it forever; with aging it fades.
        for aging in [LFUPolicy.Aging.never, .whenFrequencyExceeds(8)] {
            let p = LFUPolicy(capacity: 3, aging: aging)
            fill(p, [1])
            for _ in 0..<30 { p.recordHit(1) }  // 1 was hot long ago
            fill(p, [2])
            for _ in 0..<40 { p.recordHit(2) }  // 2 is hot now
            fill(p, [3])
            for _ in 0..<5 { p.recordHit(3) }
            let r = p.recordMiss(4, size: 1)
            if aging == .never {
                XCTAssertEqual(r.evicted, [3])
                XCTAssertEqual(p.frequency(of: 1), 31)
            } else {
                XCTAssertLessThanOrEqual(p.frequency(of: 2)!, 8)
                XCTAssertEqual(r.evicted, [1], "1's count faded below 3's")
            }
        }
    }

    func testAgingWhenFrequencyExceedsLimitKeepsRecencyOrder() {
        let p = LFUPolicy(capacity: 3, aging: .whenFrequencyExceeds(4))
        fill(p, [1, 2, 3])
        p.recordHit(2); p.recordHit(1); p.recordHit(3)  // count 2 each; recency 2 < 1 < 3
        p.recordHit(3); p.recordHit(3); p.recordHit(3)  // 3 reaches 5 > 4: halve
        XCTAssertEqual(p.frequency(of: 3), 2)
        XCTAssertEqual(p.frequency(of: 1), 1)
        XCTAssertEqual(p.frequency(of: 2), 1)
        XCTAssertEqual(p.recordMiss(4, size: 1).evicted, [2])
        XCTAssertEqual(p.recordMiss(5, size: 1).evicted, [1])
    }
}
