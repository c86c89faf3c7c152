import XCTest
@testable import CachePolicies

final class LRUPolicyTests: XCTestCase {
    func testEvictsLeastRecentlyUsedFirst() {
        let p = LRUPolicy(capacity: 3)
        for k: UInt64 in [1, 2, 3] { XCTAssertEqual(p.recordMiss(k, size: 1).evicted, []) }
        p.recordHit(1)  // order, oldest first: 2 3 1
        XCTAssertEqual(p.recordMiss(4, size: 1).evicted, [2])
        p.recordHit(3)  // 1 4 3
        XCTAssertEqual(p.recordMiss(5, size: 1).evicted, [1])
        XCTAssertEqual(p.recordMiss(6, size: 1).evicted, [4])
        XCTAssertEqual(Set([3, 5, 6].filter(p.contains)), [3, 5, 6])
    }

    func testEvictsAsManyAsASizedEntryNeeds() {
        let p = LRUPolicy(capacity: 100)
        for k: UInt64 in 1...4 { _ = p.recordMiss(k, size: 25) }
        let r = p.recordMiss(9, size: 60)
        XCTAssertTrue(r.admitted)
        XCTAssertEqual(r.evicted, [1, 2, 3])
        XCTAssertEqual(p.used, 85)
    }
}
