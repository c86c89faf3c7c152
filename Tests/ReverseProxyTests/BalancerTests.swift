import XCTest
@testable import ReverseProxy

final class BalancerTests: XCTestCase {
    private func picks(_ p: BackendPool, _ n: Int, key: String = "/", now: UInt64 = 0) -> [Int?] {
        (0..<n).map { _ in p.pick(key: key, now: now) }
    }

    func testRoundRobinVariantsRotateAndSkipDeadBackends() {
        for algorithm in [BalanceAlgorithm.roundRobin, .roundRobinLocked] {
            let p = pool(algorithm, count: 3)
            XCTAssertEqual(picks(p, 6), [0, 1, 2, 0, 1, 2], "\(algorithm)")
            p.reportFailure(1, now: 100)
            let seq = picks(p, 6, now: 200).compactMap { $0 }
            XCTAssertFalse(seq.contains(1), "\(algorithm)")
            XCTAssertEqual(Set(seq), [0, 2], "\(algorithm)")
        }
        // The locked variant continues after the backend actually picked.
        let locked = pool(.roundRobinLocked, count: 3)
        locked.reportFailure(1, now: 0)
        XCTAssertEqual(picks(locked, 4, now: 1), [0, 2, 0, 2])
    }

    func testNaiveStaysOnLastUsedUntilItFails() {
        let p = pool(.naive, count: 3, offline: 1_000)
        XCTAssertEqual(picks(p, 3), [0, 0, 0])
        p.reportFailure(0, now: 10)
        XCTAssertEqual(picks(p, 3, now: 20), [1, 1, 1])
        // 0 is alive again, but naive does not fail back.
        XCTAssertEqual(picks(p, 2, now: 5_000), [1, 1])
        p.reportFailure(1, now: 5_000)
        XCTAssertEqual(p.pick(key: "/", now: 5_001), 2)
    }

    func testFirstAliveFailsBackToThePrimary() {
        let p = pool(.firstAlive, count: 3, offline: 1_000)
        XCTAssertEqual(picks(p, 2), [0, 0])
        p.reportFailure(0, now: 10)
        p.reportFailure(1, now: 10)
        XCTAssertEqual(p.pick(key: "/", now: 20), 2)
        XCTAssertEqual(p.pick(key: "/", now: 1_010), 0, "back to the primary once its offline time is over")
    }

    func testLeastConnectionsPicksFewestInFlight() {
        let p = pool(.leastConnections, count: 3)
        p.backends[0].requestStarted(); p.backends[0].requestStarted()
        p.backends[1].requestStarted()
        XCTAssertEqual(picks(p, 4), [2, 2, 2, 2])
        p.backends[2].requestStarted(); p.backends[2].requestStarted(); p.backends[2].requestStarted()
        XCTAssertEqual(p.pick(key: "/", now: 0), 1)
        p.reportFailure(1, now: 0)
        XCTAssertEqual(p.pick(key: "/", now: 1), 0)
        p.backends[0].requestFinished(); p.backends[0].requestFinished()
        XCTAssertEqual(p.backends[0].inFlight, 0)
        // Ties spread over the tied backends.
        let idle = pool(.leastConnections, count: 3)
        XCTAssertEqual(Set(picks(idle, 6).compactMap { $0 }), [0, 1, 2])
    }

    func testConsistentHashIsStableAndMovesOnlyTheRemovedShare() {
        let names = (1...5).map { addr("10.1.0.\($0):8080") }
        let full = ConsistentHashBalancer(backends: names)
        let states = names.map { BackendState(address: $0) }
        let paths = (0..<10_000).map { "/item/\($0)" }
        let before = paths.map { full.pick(key: $0, backends: states, usable: { _ in true })! }
        // Same path, same backend.
        XCTAssertEqual(paths.prefix(100).map { full.pick(key: $0, backends: states, usable: { _ in true })! }, Array(before.prefix(100)))
        // Every backend gets a share near 1/5.
        for i in 0..<5 {
            let share = Double(before.filter { $0 == i }.count) / Double(paths.count)
            XCTAssertTrue(share > 0.12 && share < 0.28, "backend \(i) share \(share)")
        }
        // Remove backend 2 from the list: only its keys move.
        let reduced = Array(names[0..<2] + names[3...])
        let smaller = ConsistentHashBalancer(backends: reduced)
        let reducedStates = reduced.map { BackendState(address: $0) }
        var moved = 0
        for (k, path) in paths.enumerated() {
            let now = reduced[smaller.pick(key: path, backends: reducedStates, usable: { _ in true })!]
            let was = names[before[k]]
            if now != was {
                moved += 1
                XCTAssertEqual(was, names[2], "a key of a remaining backend moved")
            }
        }
        let fraction = Double(moved) / Double(paths.count)
        XCTAssertTrue(fraction > 0.12 && fraction < 0.28, "moved \(fraction)")
        // Marking a backend dead behaves the same way: its keys go elsewhere, others stay.
        let dead = paths.map { full.pick(key: $0, backends: states, usable: { $0 != 2 })! }
        for k in paths.indices where before[k] != 2 { XCTAssertEqual(dead[k], before[k]) }
        XCTAssertFalse(dead.contains(2))
        XCTAssertNil(full.pick(key: "/x", backends: states, usable: { _ in false }))
    }

    func testConsistentHashWithManyBackendsSkipsDeadOnes() {
        let names = (0..<100).map { addr("10.2.\($0 / 200).\($0 % 200 + 1):80") }
        let b = ConsistentHashBalancer(backends: names)
        let states = names.map { BackendState(address: $0) }
        XCTAssertEqual(b.pick(key: "/p", backends: states, usable: { $0 == 77 }), 77)
        XCTAssertNil(b.pick(key: "/p", backends: states, usable: { _ in false }))
    }

    func testLivenessTimeout() {
        let p = pool(.firstAlive, count: 2, offline: 500)
        p.reportFailure(0, now: 1_000)
        XCTAssertFalse(p.backends[0].isAlive(at: 1_499))
        XCTAssertTrue(p.backends[0].isAlive(at: 1_500))
        XCTAssertEqual(p.pick(key: "/", now: 1_200), 1)
        p.reportSuccess(0)
        XCTAssertTrue(p.backends[0].isAlive(at: 1_201))
        p.reportFailure(1, now: 2_000)
        p.reportFailure(0, now: 2_100)
        XCTAssertEqual(p.pick(key: "/", now: 2_200), 1, "all down: the one back first is tried, not none")
        XCTAssertEqual(p.pick(key: "/", now: 2_200, excluding: [1]), 0)
        XCTAssertNil(p.pick(key: "/", now: 2_200, excluding: [0, 1]))
    }

    func testASoleBackendIsNeverMarkedDown() {
        let p = pool(.roundRobin, count: 1, offline: 10_000)
        for t in 0..<5 { p.reportFailure(0, now: UInt64(t)) }
        XCTAssertTrue(p.backends[0].isAlive(at: 10))
        // Nor is the only backend that is not this server.
        let withSelf = pool(.roundRobin, count: 2, offline: 10_000, isSelf: { $0.host == "10.0.0.1" })
        withSelf.reportFailure(1, now: 0)
        XCTAssertTrue(withSelf.backends[1].isAlive(at: 1))
        XCTAssertEqual(withSelf.pick(key: "/", now: 1), 1)
    }

    func testMaxFailsWithinFailTimeoutMarksDown() {
        let backends = (0..<2).map { addr("10.0.0.\($0 + 1):80") }
        let p = BackendPool(config: PoolConfig(name: "p", backends: backends, maxFails: 3, offlineTimeoutNanos: 1_000))
        p.reportFailure(0, now: 0)
        p.reportFailure(0, now: 100)
        XCTAssertTrue(p.backends[0].isAlive(at: 101), "two of three failures")
        p.reportFailure(0, now: 200)
        XCTAssertFalse(p.backends[0].isAlive(at: 201), "the third within fail_timeout")
        XCTAssertTrue(p.backends[0].isAlive(at: 1_200), "down for fail_timeout")
        // Failures further apart than fail_timeout never add up.
        for t: UInt64 in [2_000, 3_100, 4_200, 5_300] { p.reportFailure(1, now: t) }
        XCTAssertTrue(p.backends[1].isAlive(at: 5_301))
        // A success forgets the failures counted so far.
        p.reportFailure(1, now: 6_000); p.reportFailure(1, now: 6_001)
        p.reportSuccess(1)
        p.reportFailure(1, now: 6_002)
        XCTAssertTrue(p.backends[1].isAlive(at: 6_003))
        // max_fails 0: failures never mark a backend down.
        let never = BackendPool(config: PoolConfig(name: "p", backends: backends, maxFails: 0, offlineTimeoutNanos: 1_000))
        for t: UInt64 in 0..<10 { never.reportFailure(0, now: t) }
        XCTAssertTrue(never.backends[0].isAlive(at: 10))
    }

    func testFailoverIsBoundedByAttemptsAndNeverRepeats() {
        for algorithm in BalanceAlgorithm.allCases {
            let p = pool(algorithm, count: 4, attempts: 3)
            var f = p.failover(key: "/a")
            var tried: [Int] = []
            while let i = f.next(now: 0) {
                tried.append(i)
                p.reportFailure(i, now: 0)
            }
            XCTAssertEqual(tried.count, 3, "\(algorithm)")
            XCTAssertEqual(Set(tried).count, 3, "\(algorithm) repeated a backend")
        }
        let p = pool(.roundRobin, count: 2, attempts: 5)
        var f = p.failover(key: "/")
        XCTAssertNotNil(f.next(now: 0))
        XCTAssertNotNil(f.next(now: 0))
        XCTAssertNil(f.next(now: 0), "only two distinct backends exist")
    }

    func testSelfBackendsAreNeverPicked() {
        let p = pool(.firstAlive, count: 3, isSelf: { $0.host == "10.0.0.1" })
        XCTAssertEqual(picks(p, 3), [1, 1, 1])
    }

    func testConcurrentPicksKeepCountsBalanced() {
        let p = pool(.roundRobin, count: 4)
        let counts = (0..<4).map { _ in BackendState(address: addr("1.1.1.1:1")) }
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<1000 {
                let i = p.pick(key: "/", now: 0)!
                counts[i].requestStarted()
            }
        }
        XCTAssertEqual(counts.map(\.inFlight), [1000, 1000, 1000, 1000])
    }
}
