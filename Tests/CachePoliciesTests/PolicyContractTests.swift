import XCTest
@testable import CachePolicies

/// The EvictionPolicy promises, checked for every policy on generated traces.
final class PolicyContractTests: XCTestCase {
    /// Every policy under test, by a name for messages.
    static func factories(capacity: Int) -> [(String, () -> any EvictionPolicy)] {
        var out: [(String, () -> any EvictionPolicy)] = PolicyKind.allCases.map { kind in
            (kind.rawValue, { makePolicy(kind, capacity: capacity) })
        }
        out.append(("lfu aging every 97", { LFUPolicy(capacity: capacity, aging: .everyRequests(97)) }))
        out.append(("lfu aging above 6", { LFUPolicy(capacity: capacity, aging: .whenFrequencyExceeds(6)) }))
        var climbing = WTinyLFUConfiguration()
        climbing.adaptation = .hillClimbing
        climbing.climbSampleFactor = 0.5
        climbing.doorkeeper = true
        out.append(("wtinylfu hill climbing", { WTinyLFUPolicy(capacity: capacity, configuration: climbing) }))
        var fixed = WTinyLFUConfiguration()
        fixed.adaptation = .fixed
        fixed.initialWindow = 0.2
        out.append(("wtinylfu fixed", { WTinyLFUPolicy(capacity: capacity, configuration: fixed) }))
        return out
    }

    func testInvariantsWithUnitSizes() {
        let trace = TraceGenerator.skewed(seed: 1, requests: 20_000, keys: 2_000)
        for (name, make) in Self.factories(capacity: 150) {
            var replay = CheckedReplay(make())
            replay.run(trace)
            XCTAssertEqual(replay.policy.count, 150, "\(name) fills up")
            XCTAssertGreaterThan(replay.hits.filter { $0 }.count, 1_000, "\(name) hits the hot keys")
        }
    }

    func testInvariantsWithSizes() {
        let trace = TraceGenerator.skewed(seed: 2, requests: 20_000, keys: 3_000, maxSize: 5_000)
        for (name, make) in Self.factories(capacity: 60_000) {
            var replay = CheckedReplay(make())
            replay.run(trace)
            XCTAssertGreaterThan(replay.policy.used, 30_000, "\(name) fills up")
        }
    }

    func testEntryLargerThanCapacityIsRefused() {
        for (name, make) in Self.factories(capacity: 100) {
            let p = make()
            let r = p.recordMiss(1, size: 101)
            XCTAssertFalse(r.admitted, name)
            XCTAssertEqual(r.evicted, [], name)
            XCTAssertFalse(p.contains(1), name)
            XCTAssertEqual(p.used, 0, name)
        }
    }

    func testRemove() {
        let trace = TraceGenerator.skewed(seed: 3, requests: 5_000, keys: 500)
        for (name, make) in Self.factories(capacity: 80) {
            var replay = CheckedReplay(make())
            replay.run(trace.prefix(2_500))
            let victims = Array(replay.resident.keys.sorted().prefix(10))
            XCTAssertEqual(victims.count, 10, name)
            for k in victims {
                replay.remove(k)
                XCTAssertFalse(replay.policy.contains(k), name)
                XCTAssertNil(replay.policy.state(of: k), name)
            }
            replay.policy.remove(999_999)  // absent: no-op
            XCTAssertEqual(replay.policy.count, 70, name)
            replay.run(trace.suffix(2_500))  // still consistent afterwards
        }
    }

    /// A snapshot taken midway (per-entry states, in shuffled order, plus the
    /// global state) restored into a fresh policy makes exactly the same
    /// decisions afterwards as the policy that never stopped.
    func testSnapshotAndRestoreGiveIdenticalDecisions() {
        let cases: [(Int, [Request])] = [
            (120, TraceGenerator.skewed(seed: 4, requests: 30_000, keys: 1_500)),
            (40_000, TraceGenerator.skewed(seed: 5, requests: 30_000, keys: 2_000, maxSize: 4_000)),
        ]
        for (capacity, trace) in cases {
            for (name, make) in Self.factories(capacity: capacity) {
                let label = "\(name) at \(capacity)"
                var original = CheckedReplay(make())
                original.run(trace.prefix(15_000))

                var rng = SeededRandom(seed: 9)
                let entries = original.resident.map { key, size in
                    (key: key, size: size, state: original.policy.state(of: key)!)
                }.shuffled(using: &rng)
                let global = original.policy.exportGlobalState()
                let fresh = make()
                XCTAssertEqual(fresh.restore(entries), [], "\(label): everything fits")
                XCTAssertTrue(fresh.importGlobalState(global), label)
                for e in entries { XCTAssertEqual(fresh.state(of: e.key), e.state, label) }
                XCTAssertEqual(fresh.used, original.policy.used, label)

                var restored = CheckedReplay(fresh, resident: original.resident)
                let before = original.hits.count
                original.run(trace.suffix(15_000))
                restored.run(trace.suffix(15_000))
                let firstDifferentHit = zip(original.hits[before...], restored.hits).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                XCTAssertNil(firstDifferentHit, "\(label): same hits after the restart")
                let firstDifferentEviction = zip(original.evictions[before...], restored.evictions).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                XCTAssertNil(firstDifferentEviction, "\(label): same evictions after the restart")
                XCTAssertEqual(original.hits.count - before, restored.hits.count, label)
            }
        }
    }

    func testRestoreDropsOldestWhenOverCapacity() {
        for (name, make) in Self.factories(capacity: 10) {
            let p = make()
            let entries = (0..<15).map { i in
                (key: UInt64(i), size: 1, state: PolicyEntryState(word: 1, sequence: UInt64(100 + i)))
            }
            let dropped = p.restore(entries)
            XCTAssertEqual(Set(dropped), Set((0..<5).map(UInt64.init)), name)
            XCTAssertEqual(p.count, 10, name)
            XCTAssertLessThanOrEqual(p.used, 10, name)
        }
    }

    func testForeignOrDamagedGlobalStateIsRefused() {
        let trace = TraceGenerator.skewed(seed: 6, requests: 3_000, keys: 300)
        for (name, make) in Self.factories(capacity: 50) {
            var replay = CheckedReplay(make())
            replay.run(trace)
            let good = replay.policy.exportGlobalState()
            let other = make()
            XCTAssertFalse(other.importGlobalState([1, 2, 3]), name)
            if !good.isEmpty {
                XCTAssertFalse(other.importGlobalState(Array(good.dropLast())), "\(name): truncated")
                XCTAssertFalse(other.importGlobalState(good + [0]), "\(name): trailing bytes")
            }
            let bigger = makePolicy(.lru, capacity: 51)
            XCTAssertTrue(bigger.importGlobalState([]))
            if let w = other as? WTinyLFUPolicy {
                let differentCapacity = WTinyLFUPolicy(capacity: 51, configuration: w.configuration)
                XCTAssertFalse(differentCapacity.importGlobalState(good), name)
            }
        }
    }
}
