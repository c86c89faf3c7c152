import XCTest
@testable import CachePolicies

/// SplitMix64: a small seeded generator so every test trace is reproducible.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// One request of a generated trace.
struct Request: Equatable {
    var key: UInt64
    var size: Int
}

enum TraceGenerator {
    /// Skewed popularity (the square of a uniform variable picks the rank, so
    /// low ranks are hot) with occasional bursts of fresh keys (scans).
    /// Sizes are 1 unless `maxSize` > 1; a key keeps its size.
    static func skewed(seed: UInt64, requests: Int, keys: Int, maxSize: Int = 1) -> [Request] {
        var rng = SeededRandom(seed: seed)
        var sizes: [UInt64: Int] = [:]
        var out: [Request] = []
        var fresh = UInt64(keys)
        while out.count < requests {
            if Int.random(in: 0..<500, using: &rng) == 0 {
                for _ in 0..<Int.random(in: 5...60, using: &rng) {
                    out.append(Request(key: fresh, size: size(for: fresh, maxSize, &sizes, &rng)))
                    fresh += 1
                }
                continue
            }
            let u = Double.random(in: 0..<1, using: &rng)
            let key = UInt64(Double(keys) * u * u)
            out.append(Request(key: key, size: size(for: key, maxSize, &sizes, &rng)))
        }
        return Array(out.prefix(requests))
    }

    private static func size(for key: UInt64, _ maxSize: Int, _ sizes: inout [UInt64: Int],
                             _ rng: inout SeededRandom) -> Int {
        guard maxSize > 1 else { return 1 }
        if let s = sizes[key] { return s }
        // Mostly small, a few large.
        let s = Int.random(in: 0..<10, using: &rng) == 0
            ? Int.random(in: 1...maxSize, using: &rng) : Int.random(in: 1...max(1, maxSize / 20), using: &rng)
        sizes[key] = s
        return s
    }
}

/// Replays requests through a policy as a cache would, checking the protocol's
/// promises on every step, and records what happened.
struct CheckedReplay {
    let policy: any EvictionPolicy
    /// What the caller believes is resident, from the policy's answers alone.
    private(set) var resident: [UInt64: Int] = [:]
    private(set) var hits: [Bool] = []
    private(set) var evictions: [[UInt64]] = []

    init(_ policy: any EvictionPolicy) {
        self.policy = policy
    }

    /// Adopts residents restored into `policy` after a restart.
    init(_ policy: any EvictionPolicy, resident: [UInt64: Int]) {
        self.policy = policy
        self.resident = resident
    }

    mutating func run(_ requests: some Sequence<Request>, file: StaticString = #filePath, line: UInt = #line) {
        for r in requests { step(r, file: file, line: line) }
    }

    mutating func step(_ r: Request, file: StaticString = #filePath, line: UInt = #line) {
        let wasResident = resident[r.key] != nil
        XCTAssertEqual(policy.contains(r.key), wasResident, "contains(\(r.key))", file: file, line: line)
        if wasResident {
            hits.append(true)
            evictions.append([])
            policy.recordHit(r.key)
        } else {
            hits.append(false)
            let (admitted, evicted) = policy.recordMiss(r.key, size: r.size)
            evictions.append(evicted)
            XCTAssertFalse(evicted.contains(r.key), "the requested key is never listed", file: file, line: line)
            XCTAssertEqual(Set(evicted).count, evicted.count, "no key evicted twice", file: file, line: line)
            for k in evicted {
                XCTAssertNotNil(resident.removeValue(forKey: k), "evicted \(k) was resident", file: file, line: line)
                XCTAssertFalse(policy.contains(k), "evicted \(k) is gone", file: file, line: line)
            }
            XCTAssertEqual(policy.contains(r.key), admitted, file: file, line: line)
            if admitted { resident[r.key] = max(1, r.size) }
        }
        XCTAssertLessThanOrEqual(policy.used, policy.capacity, "used <= capacity", file: file, line: line)
        XCTAssertEqual(policy.used, resident.values.reduce(0, +), "used is the sum of resident sizes", file: file, line: line)
        XCTAssertEqual(policy.count, resident.count, file: file, line: line)
    }

    mutating func remove(_ key: UInt64) {
        policy.remove(key)
        resident[key] = nil
    }
}
