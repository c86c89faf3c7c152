import XCTest
@testable import CachePolicies

final class S3FIFOPolicyTests: XCTestCase {
    /// Entries another policy has seen again (a TinyLFU's probation, which also
    /// holds whatever left its window) enter the small queue on a switch, as
    /// new ones do: a hit there moves one to main, and one evicted unhit leaves
    /// a ghost, so its next request goes straight to main. Entries seen often
    /// go to main with a count.
    func testEntriesSeenAgainElsewhereEnterTheSmallQueue() {
        let p = S3FIFOPolicy(capacity: 10)
        let entries = (0..<10).map { k in
            (key: UInt64(k), size: 1, state: S3FIFOPolicy.state(standing: k < 5 ? 1 : 2, sequence: UInt64(k + 1)))
        }
        XCTAssertEqual(p.adopt(entries), [])
        XCTAssertEqual(S3FIFOPolicy.standing(p.state(of: 1)!), 0, "seen again: small queue")
        XCTAssertEqual(S3FIFOPolicy.standing(p.state(of: 7)!), 2, "seen often: main, with a count")
        p.recordHit(0)
        let r = p.recordMiss(100, size: 1)
        XCTAssertEqual(r.evicted, [1], "the small queue's oldest unhit entry goes first")
        XCTAssertTrue(p.isGhost(1))
        XCTAssertEqual(S3FIFOPolicy.standing(p.state(of: 0)!), 1, "hit in the small queue: main")
        _ = p.recordMiss(1, size: 1)
        XCTAssertEqual(S3FIFOPolicy.standing(p.state(of: 1)!), 1, "back from the ghosts: main")
        XCTAssertEqual(p.used, 10)
    }
}
