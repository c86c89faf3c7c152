import XCTest
@testable import CachePolicies

final class HashKeyedTableTests: XCTestCase {
    func testInsertFindUpdateRemove() {
        var t = HashKeyedTable<String>()
        XCTAssertNil(t[7])
        XCTAssertTrue(t.isEmpty)
        t[7] = "seven"
        t[0] = "zero"
        t[UInt64.max] = "max"
        XCTAssertEqual(t.count, 3)
        XCTAssertEqual(t[7], "seven")
        XCTAssertEqual(t[0], "zero")
        XCTAssertEqual(t[UInt64.max], "max")
        XCTAssertNil(t[8])
        XCTAssertEqual(t.updateValue("SEVEN", forKey: 7), "seven")
        XCTAssertEqual(t[7], "SEVEN")
        XCTAssertEqual(t.count, 3)
        XCTAssertEqual(t.removeValue(forKey: 7), "SEVEN")
        XCTAssertNil(t.removeValue(forKey: 7))
        XCTAssertNil(t[7])
        t[0] = nil
        XCTAssertNil(t[0])
        XCTAssertEqual(t.count, 1)
        XCTAssertEqual(Array(t).map(\.key), [UInt64.max])
        XCTAssertEqual(t.values, ["max"])
    }

    /// Keys that agree in their low bits (one shard's keys: the shard is the
    /// hash's low bits) or are dense ids must not pile onto one probe run.
    func testSpreadsKeysSharingLowBitsAndDenseIds() {
        for stride: UInt64 in [1, 1 << 8, 1 << 32] {
            var t = HashKeyedTable<Int>()
            for i in 0..<1000 { t[UInt64(i) &* stride] = i }
            XCTAssertEqual(t.count, 1000)
            for i in 0..<1000 { XCTAssertEqual(t[UInt64(i) &* stride], i) }
            XCTAssertLessThan(t.longestRun, 64, "stride \(stride)")
        }
    }

    /// Each table has a seed of its own: keys a client chose so that they share a
    /// home bucket in one table (hash flooding) are spread in another.
    func testEachTableSpreadsTheSameKeysDifferently() {
        let a = HashKeyedTable<Int>(), b = HashKeyedTable<Int>()
        XCTAssertNotEqual(a.seed, b.seed)
        let keys = (0..<64).map { UInt64($0) << 40 }
        let homesA = keys.map { HashKeyedTable<Int>.home($0, seed: a.seed, shift: a.shift) }
        let homesB = keys.map { HashKeyedTable<Int>.home($0, seed: b.seed, shift: b.shift) }
        XCTAssertNotEqual(homesA, homesB)
        XCTAssertGreaterThan(Set(homesA).count, 4, "64 keys over 8 buckets reach most of them")
    }

    /// Removal leaves no tombstone: the run after the hole shifts back, so the
    /// keys probed past the removed one stay reachable, and the freed bucket
    /// takes the next insert without the table growing.
    func testRemovalKeepsProbeRunsAndReusesBuckets() {
        var t = HashKeyedTable<Int>()
        // Keys whose home is the last bucket: a run of collisions through the wrap-around.
        let home = t.bucketCount - 1
        var colliding: [UInt64] = []
        var k: UInt64 = 1
        while colliding.count < 5 {
            if HashKeyedTable<Int>.home(k, seed: t.seed, shift: t.shift) == home { colliding.append(k) }
            k += 1
        }
        for (i, key) in colliding.enumerated() { t[key] = i }
        let buckets = t.bucketCount
        XCTAssertEqual(t.removeValue(forKey: colliding[1]), 1)
        for (i, key) in colliding.enumerated() where i != 1 { XCTAssertEqual(t[key], i) }
        XCTAssertEqual(t.removeValue(forKey: colliding[0]), 0)
        for (i, key) in colliding.enumerated() where i > 1 { XCTAssertEqual(t[key], i) }
        t[colliding[0]] = 10
        t[colliding[1]] = 11
        XCTAssertEqual(t.count, 5)
        XCTAssertEqual(t.bucketCount, buckets)
        XCTAssertEqual(t[colliding[0]], 10)
        XCTAssertEqual(t[colliding[1]], 11)
        XCTAssertEqual(t.longestRun, 5)
        // Insert and remove many times: no dead buckets pile up, nothing grows.
        for round in 0..<10_000 {
            t[UInt64(1_000_000 + round)] = round
            XCTAssertEqual(t.removeValue(forKey: UInt64(1_000_000 + round)), round)
        }
        XCTAssertEqual(t.count, 5)
        XCTAssertEqual(t.bucketCount, buckets)
    }

    func testGrowsAtThreeQuartersAndReserves() {
        var t = HashKeyedTable<Int>()
        XCTAssertEqual(t.bucketCount, 8)
        for i in 0..<6 { t[UInt64(i) * 977] = i }
        XCTAssertEqual(t.bucketCount, 8)
        t[1_000_001] = 6
        XCTAssertEqual(t.bucketCount, 16)
        for i in 0..<100_000 { t[UInt64(i) &* 0x1234_5678_9abc_def1] = i }
        XCTAssertLessThanOrEqual(t.count * 4, t.bucketCount * 3)
        XCTAssertGreaterThan(t.count * 8, t.bucketCount * 3)
        for i in 0..<100_000 { XCTAssertEqual(t[UInt64(i) &* 0x1234_5678_9abc_def1], i) }
        var r = HashKeyedTable<Int>()
        r.reserveCapacity(1000)
        let reserved = r.bucketCount
        XCTAssertEqual(reserved, 2048)
        XCTAssertEqual(r.capacity, 1536)
        for i in 0..<1000 { r[UInt64(i)] = i }
        XCTAssertEqual(r.bucketCount, reserved)
    }

    /// A copy is a value: mutating one leaves the other as it was.
    func testCopiesAreIndependent() {
        var a = HashKeyedTable<Int>()
        for i in 0..<100 { a[UInt64(i)] = i }
        let snapshot = a
        for i in 0..<50 { a[UInt64(i)] = nil }
        a[500] = 500
        XCTAssertEqual(snapshot.count, 100)
        for i in 0..<100 { XCTAssertEqual(snapshot[UInt64(i)], i) }
        XCTAssertNil(snapshot[500])
        XCTAssertEqual(a.count, 51)
    }

    /// The same random inserts, updates and removals on a Dictionary and the
    /// table give the same contents after every step's checks.
    func testRandomOperationsMatchDictionary() {
        var rng = SeededRandom(seed: 16)
        var table = HashKeyedTable<UInt32>()
        var dict: [UInt64: UInt32] = [:]
        // Few distinct keys (so removals hit), with low bits shared as a shard's.
        let keys = (0..<3000).map { _ in rng.next() << 4 | 5 }
        for step in 0..<200_000 {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            switch rng.next() % 3 {
            case 0:
                XCTAssertEqual(table.removeValue(forKey: key), dict.removeValue(forKey: key))
            default:
                let v = UInt32(truncatingIfNeeded: rng.next())
                XCTAssertEqual(table.updateValue(v, forKey: key), dict.updateValue(v, forKey: key))
            }
            XCTAssertEqual(table.count, dict.count)
            if step % 10_000 == 0 {
                for k in keys { XCTAssertEqual(table[k], dict[k]) }
            }
        }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }), dict)
        XCTAssertEqual(table.values.sorted(), dict.values.sorted())
        table.removeAll()
        XCTAssertTrue(table.isEmpty)
        XCTAssertNil(table[keys[0]])
    }
}

extension HashKeyedTable {
    /// The longest run of occupied buckets (the worst probe length).
    var longestRun: Int {
        var longest = 0, run = 0
        // Twice round: a run may wrap past the last bucket.
        for i in 0..<(2 * buckets.count) {
            if buckets[i % buckets.count].value != nil { run += 1; longest = Swift.max(longest, run) } else { run = 0 }
        }
        return Swift.min(longest, buckets.count)
    }
}
