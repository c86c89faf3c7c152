import CapuchinSystem
import XCTest
@testable import ReverseProxy

final class CoalescingTests: XCTestCase {
    func testManyWaitersOneFetch() {
        let table = SharedCoalescingTable<String, String>()
        var fetches = 0
        let delivered = Collected<String>()
        for i in 0..<10 {
            switch table.join("/a", onResult: { delivered.append("\(i):\($0)") }) {
            case .leader: fetches += 1
            case .follower: break
            }
        }
        XCTAssertEqual(fetches, 1)
        XCTAssertEqual(table.waiterCount("/a"), 9)
        XCTAssertEqual(table.complete("/a", with: "body"), 9)
        XCTAssertEqual(delivered.values, (1..<10).map { "\($0):body" })
        XCTAssertFalse(table.isInFlight("/a"))
        XCTAssertEqual(table.join("/a", onResult: { _ in }), .leader, "after completion the next miss fetches again")
    }

    func testKeysAreIndependentAndWaitersCanCancel() {
        let table = SharedCoalescingTable<String, Int>()
        XCTAssertEqual(table.join("/a", onResult: { _ in }), .leader)
        XCTAssertEqual(table.join("/b", onResult: { _ in }), .leader)
        let got = Collected<Int>()
        guard case .follower(let t1) = table.join("/a", onResult: { got.append($0) }) else { return XCTFail() }
        guard case .follower = table.join("/a", onResult: { got.append($0 * 10) }) else { return XCTFail() }
        XCTAssertTrue(table.cancel("/a", ticket: t1))
        XCTAssertFalse(table.cancel("/a", ticket: t1))
        XCTAssertEqual(table.complete("/a", with: 7), 1)
        XCTAssertEqual(got.values, [70])
        XCTAssertTrue(table.isInFlight("/b"))
    }

    func testSharedTableAcrossThreads() {
        let table = SharedCoalescingTable<String, Int>()
        let leaders = Counter(), woken = Counter()
        let group = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<50 {
                group.enter()
                if table.join("/k", onResult: { _ in woken.increment(); group.leave() }) == .leader {
                    leaders.increment()
                    group.leave()
                }
            }
        }
        XCTAssertEqual(leaders.value, 1)
        XCTAssertEqual(table.complete("/k", with: 1), 399)
        group.wait()
        XCTAssertEqual(woken.value, 399)
    }
}

private final class Counter: Sendable {
    private let n = Lock(0)
    func increment() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}

private final class Collected<T>: @unchecked Sendable { // safe: items only under the lock (T is not required Sendable)
    private let items = Lock<[T]>([])
    func append(_ x: T) { items.withLock { $0.append(x) } }
    var values: [T] { items.withLock { $0 } }
}
