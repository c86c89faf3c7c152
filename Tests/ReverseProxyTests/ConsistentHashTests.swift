import CapuchinServer
import XCTest
@testable import ReverseProxy

/// The hash ring of a tier of cache nodes: even shares, minimal remapping,
/// bounded loads, and the pool configuration that sets them.
final class ConsistentHashTests: XCTestCase {
    private let keys = (0..<60_000).map { "http://example.com/object/\($0)?v=\($0 % 7)" }

    private func nodes(_ n: Int) -> [BackendAddress] { (0..<n).map { addr("10.9.0.\($0 + 1):8080") } }

    /// Each backend's share of `keys` on a ring without load bound.
    private func owners(_ backends: [BackendAddress], virtualNodes: Int = HashRing.defaultVirtualNodes) -> [Int] {
        let b = ConsistentHashBalancer(backends: backends, virtualNodes: virtualNodes)
        let states = backends.map { BackendState(address: $0) }
        return keys.map { b.pick(key: $0, backends: states, usable: { _ in true })! }
    }

    private func shares(_ owners: [Int], count: Int) -> [Double] {
        var n = [Int](repeating: 0, count: count)
        for o in owners { n[o] += 1 }
        return n.map { Double($0) * Double(count) / Double(owners.count) }
    }

    func testVirtualNodesEvenOutTheShares() {
        // Shares relative to the fair 1/N: 1.0 is perfectly even.
        let one = shares(owners(nodes(5), virtualNodes: 1), count: 5)
        let many = shares(owners(nodes(5)), count: 5)
        XCTAssertGreaterThan(one.max()! - one.min()!, 0.5, "one point per node is uneven: \(one)")
        for s in many { XCTAssertTrue(s > 0.85 && s < 1.15, "160 points per node: \(many)") }
        XCTAssertLessThan(many.max()! - many.min()!, (one.max()! - one.min()!) / 2)
    }

    func testAddingTheNthNodeMovesAboutOneNthOfTheKeysAllToIt() {
        var before = owners(nodes(2))
        for n in 3...8 {
            let after = owners(nodes(n))
            var moved = 0
            for k in keys.indices where after[k] != before[k] {
                moved += 1
                XCTAssertEqual(after[k], n - 1, "a key moved between two old nodes (n = \(n))")
                if after[k] != n - 1 { return }
            }
            let fraction = Double(moved) / Double(keys.count)
            XCTAssertTrue(fraction > 0.75 / Double(n) && fraction < 1.25 / Double(n), "n = \(n): \(fraction) moved")
            before = after
        }
    }

    func testRemovingANodeMovesOnlyItsKeysAndRestoringItBringsThemBack() {
        let backends = nodes(4)
        let b = ConsistentHashBalancer(backends: backends)
        let states = backends.map { BackendState(address: $0) }
        let home = keys.map { b.pick(key: $0, backends: states, usable: { _ in true })! }
        let without1 = keys.map { b.pick(key: $0, backends: states, usable: { $0 != 1 })! }
        for k in keys.indices {
            if home[k] == 1 { XCTAssertNotEqual(without1[k], 1) } else { XCTAssertEqual(without1[k], home[k]) }
        }
        // Node 1's keys spread over the others rather than all landing on one.
        let spilled = Set(keys.indices.filter { home[$0] == 1 }.map { without1[$0] })
        XCTAssertEqual(spilled, [0, 2, 3])
        XCTAssertEqual(keys.map { b.pick(key: $0, backends: states, usable: { _ in true })! }, home)
    }

    func testCapacityIsTheCeilingOfCTimesTheAverage() {
        XCTAssertEqual(ConsistentHashBalancer.capacity(inFlight: 4, backends: 5, factorPercent: 125), 1)
        XCTAssertEqual(ConsistentHashBalancer.capacity(inFlight: 5, backends: 5, factorPercent: 125), 2)
        XCTAssertEqual(ConsistentHashBalancer.capacity(inFlight: 40, backends: 4, factorPercent: 125), 13)
        XCTAssertEqual(ConsistentHashBalancer.capacity(inFlight: 40, backends: 4, factorPercent: 100), 10)
        XCTAssertEqual(ConsistentHashBalancer.capacity(inFlight: 1, backends: 3, factorPercent: 150), 1)
    }

    /// Requests start and finish at random, half of them for one hot key: no
    /// backend ever holds more than ceil(c x average) in flight with the bound,
    /// and without it the hot key's node does.
    private func maxOverBound(factorPercent: Int) -> (over: Int, picks: [Int: Int]) {
        let backends = nodes(5)
        let b = ConsistentHashBalancer(backends: backends, balanceFactorPercent: factorPercent)
        let states = backends.map { BackendState(address: $0) }
        var rng = SplitMix(seed: 42)
        var active: [Int] = []
        var over = Int.min
        var hotPicks: [Int: Int] = [:]
        for _ in 0..<20_000 {
            if active.count >= 40 || (!active.isEmpty && rng.next() % 2 == 0) {
                let j = Int(rng.next() % UInt64(active.count))
                active.swapAt(j, active.count - 1)
                states[active.removeLast()].requestFinished()
                continue
            }
            let hot = rng.next() % 2 == 0
            let key = hot ? "http://example.com/hot" : keys[Int(rng.next() % UInt64(keys.count))]
            let i = b.pick(key: key, backends: states, usable: { _ in true })!
            states[i].requestStarted()
            active.append(i)
            if hot { hotPicks[i, default: 0] += 1 }
            // The bound for the request just placed (the paper's m counts it).
            let bound = ConsistentHashBalancer.capacity(inFlight: active.count, backends: 5, factorPercent: factorPercent == 0 ? 125 : factorPercent)
            over = max(over, states[i].inFlight - bound)
        }
        return (over, hotPicks)
    }

    func testBoundedLoadsKeepEveryBackendWithinCTimesTheAverage() {
        let bounded = maxOverBound(factorPercent: 125)
        XCTAssertLessThanOrEqual(bounded.over, 0, "a backend went over ceil(1.25 x average)")
        XCTAssertGreaterThan(bounded.picks.count, 1, "the hot key spilled to other nodes: \(bounded.picks)")
        let unbounded = maxOverBound(factorPercent: 0)
        XCTAssertGreaterThan(unbounded.over, 0, "without the bound the hot key's node is overrun (the check can fail)")
        XCTAssertEqual(unbounded.picks.count, 1)
    }

    func testAnIdlePoolKeepsEveryKeyAtHomeWithTheBound() {
        let backends = nodes(3)
        let states = backends.map { BackendState(address: $0) }
        let bounded = ConsistentHashBalancer(backends: backends, balanceFactorPercent: 125)
        let plain = ConsistentHashBalancer(backends: backends)
        for key in keys.prefix(2_000) {
            XCTAssertEqual(bounded.pick(key: key, backends: states, usable: { _ in true }),
                           plain.pick(key: key, backends: states, usable: { _ in true }))
        }
        // A down backend's in-flight requests do not count toward the average.
        states[0].requestStarted(); states[0].requestStarted()
        for key in keys.prefix(200) {
            let i = bounded.pick(key: key, backends: states, usable: { $0 != 0 })
            XCTAssertEqual(i, plain.pick(key: key, backends: states, usable: { $0 != 0 }))
        }
    }

    func testPoolFailoverGoesToTheRingSuccessor() {
        let config = PoolConfig(name: "tier", backends: nodes(3), balance: .consistentHash, attempts: 3)
        let p = BackendPool(config: config)
        let home = p.pick(key: "http://example.com/a", now: 0)!
        var f = p.failover(key: "http://example.com/a")
        XCTAssertEqual(f.next(now: 0), home)
        let second = f.next(now: 0)!
        XCTAssertNotEqual(second, home)
        p.reportFailure(home, now: 0)
        XCTAssertEqual(p.pick(key: "http://example.com/a", now: 1), second, "a down node's key goes where failover sent it")
    }

    // MARK: configuration

    private func pool(_ lines: String) throws -> PoolConfig {
        let text = """
        sites:
          - {root: /tmp, default: true}
        proxy:
          routes: [{match: '^/', pool: tier}]
          pools:
            tier:
              backends: ['127.0.0.1:9001', '127.0.0.1:9002']
        \(lines)
        """
        let server = try ConfigLoader.parse(text, file: "tier.yaml")
        return try ProxyConfig.parse(server.section(for: "proxy"), defaultNodeID: "host").pools["tier"]!
    }

    func testConfigReadsTheRingSettings() throws {
        let p = try pool("      balance: consistent-hash\n      hash_key: uri\n      virtual_nodes: 40\n      balance_factor: 1.5")
        XCTAssertEqual(p.consistentHash, ConsistentHashConfig(hashKey: .uri, virtualNodes: 40, balanceFactorPercent: 150))
        let d = try pool("      balance: consistent-hash")
        XCTAssertEqual(d.consistentHash, ConsistentHashConfig(hashKey: .cacheKey, virtualNodes: 160, balanceFactorPercent: 125))
        XCTAssertEqual(try pool("      balance: consistent-hash\n      balance_factor: 0").consistentHash.balanceFactorPercent, 0)
    }

    func testConfigErrorsNameTheFileLineAndKey() {
        let cases: [(String, String, String)] = [
            ("      balance: consistent-hash\n      balance_factor: 0.5", "balance_factor", "from 1 to 100"),
            ("      balance: consistent-hash\n      balance_factor: lots", "balance_factor", "got 'lots'"),
            ("      balance: consistent-hash\n      hash_key: cookie", "hash_key", "cache_key, uri, path"),
            ("      balance: consistent-hash\n      virtual_nodes: 0", "virtual_nodes", "between 1 and 4096"),
            ("      balance: round-robin\n      virtual_nodes: 10", "virtual_nodes", "only used with balance: consistent-hash"),
        ]
        for (lines, key, message) in cases {
            XCTAssertThrowsError(try pool(lines), lines) { error in
                guard let e = error as? ConfigError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.file, "tier.yaml")
                XCTAssertEqual(e.key, "proxy.pools.tier.\(key)", "\(e)")
                XCTAssertGreaterThan(e.line ?? 0, 7, "\(e)")
                XCTAssertTrue(e.message.contains(message), e.message)
            }
        }
    }

    func testHashKeys() {
        let r = makeRequest("GET", "/a/b?x=1", headers: [("Host", "Example.com:8080")])
        XCTAssertEqual(ConsistentHashConfig(hashKey: .cacheKey).key(for: r), "http://example.com:8080/a/b?x=1")
        XCTAssertEqual(ConsistentHashConfig(hashKey: .uri).key(for: r), "/a/b?x=1")
        XCTAssertEqual(ConsistentHashConfig(hashKey: .path).key(for: r), "/a/b")
    }
}

/// A small deterministic generator (SplitMix64) so the simulation is the same on every run.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return StableHash.mix(state)
    }
}
