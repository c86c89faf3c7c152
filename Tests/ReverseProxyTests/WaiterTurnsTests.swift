import XCTest
@testable import ReverseProxy

/// The loop's mailbox, run by hand: tasks posted now run at `runTurn`.
private final class FakeLoop: @unchecked Sendable { // test-only: one thread
    var tasks: [@Sendable () -> Void] = []
    var post: WaiterTurns.Post { { [self] task in tasks.append(task) } }

    /// Runs what was posted before this call (what those post runs at the next).
    func runTurn() {
        let now = tasks
        tasks = []
        for t in now { t() }
    }
}

/// A waiter with `left` bytes to send, queuing up to `window` a feed, as `StreamingWaiter` does.
private final class FakeWaiter: TurnFed {
    let name: String
    var left: Int
    let window: Int
    unowned let turns: WaiterTurns
    let log: (String, Int) -> Void

    init(_ name: String, left: Int, window: Int, turns: WaiterTurns, log: @escaping (String, Int) -> Void) {
        self.name = name
        self.left = left
        self.window = window
        self.turns = turns
        self.log = log
    }

    func feed(allowance: Int) -> Int {
        let n = min(allowance, window, left)
        left -= n
        log(name, n)
        if left > 0 { turns.add(self) }
        return n
    }
}

final class WaiterTurnsTests: XCTestCase {
    private let mib = 1 << 20

    func testATurnStopsAtItsBudgetAndThoseNotReachedGoFirstNext() {
        let loop = FakeLoop()
        let turns = WaiterTurns(post: loop.post)
        var fed: [[String]] = []
        var total: [Int] = []
        let log: (String, Int) -> Void = { name, n in
            fed[fed.count - 1].append("\(name)\(n / (1 << 20))")
            total[total.count - 1] += n
        }
        let waiters = ["a", "b", "c"].map { FakeWaiter($0, left: 6 * mib, window: 4 * mib, turns: turns, log: log) }
        for w in waiters { turns.add(w) }
        XCTAssertEqual(loop.tasks.count, 1, "one turn posted for every waiter added")
        while !loop.tasks.isEmpty {
            fed.append([])
            total.append(0)
            loop.runTurn()
            XCTAssertLessThanOrEqual(loop.tasks.count, 1, "at most one turn posted at a time")
        }
        // 8 MiB a turn: c, not reached in the first turn, goes first in the second.
        XCTAssertEqual(fed, [["a4", "b4"], ["c4", "a2", "b2"], ["c2"]])
        XCTAssertEqual(total, [8 * mib, 8 * mib, 2 * mib])
        XCTAssertTrue(waiters.allSatisfy { $0.left == 0 })
    }

    func testAWakerFromAnotherThreadMakesTheWaiterDueOnItsWorker() {
        let loop = FakeLoop()
        let turns = WaiterTurns(post: loop.post)
        var fed: [String] = []
        let w = FakeWaiter("w", left: mib, window: 4 * mib, turns: turns, log: { name, n in fed.append("\(name)\(n)") })
        let wake = turns.waker(for: w)
        wake()
        XCTAssertTrue(fed.isEmpty, "nothing runs on the waking thread")
        loop.runTurn()   // the wake-up lands on the worker: due, a turn posted
        XCTAssertTrue(fed.isEmpty)
        loop.runTurn()
        XCTAssertEqual(fed, ["w\(mib)"])
        XCTAssertTrue(loop.tasks.isEmpty, "done: no more turns")
    }
}
