import XCTest
@testable import ReverseProxy

final class HitForMissTests: XCTestCase {
    func testAMarkLastsItsLifetimeAndIsClearedByAStoredResponse() {
        let marks = HitForMiss(lifetimeNanos: 100, capacity: 10)
        XCTAssertFalse(marks.isMarked("a", now: 0))
        marks.mark("a", now: 1_000)
        XCTAssertTrue(marks.isMarked("a", now: 1_099))
        XCTAssertFalse(marks.isMarked("a", now: 1_100), "expired")
        XCTAssertEqual(marks.count, 0, "an expired mark is dropped when seen")
        marks.mark("b", now: 0)
        marks.clear("b")
        XCTAssertFalse(marks.isMarked("b", now: 1))
    }

    func testAFullTableForgetsExpiredMarksFirst() {
        let marks = HitForMiss(lifetimeNanos: 100, capacity: 3)
        marks.mark("old", now: 0)
        marks.mark("x", now: 90)
        marks.mark("y", now: 90)
        marks.mark("z", now: 150)   // full: "old" expired at 100 and goes
        XCTAssertEqual(marks.count, 3)
        XCTAssertTrue(marks.isMarked("x", now: 150) && marks.isMarked("y", now: 150) && marks.isMarked("z", now: 150))
        marks.mark("w", now: 160)   // full of live marks: all forgotten but the new one
        XCTAssertEqual(marks.count, 1)
        XCTAssertTrue(marks.isMarked("w", now: 160))
    }
}
