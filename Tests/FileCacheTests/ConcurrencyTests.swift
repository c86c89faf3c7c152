import CachePolicies
import CapuchinSystem
import Foundation
import XCTest
@testable import FileCache

/// Hits, misses, admissions, file changes and purges from many threads at
/// once; run under the thread sanitizer (`swift test --sanitize=thread`).
final class ConcurrencyTests: XCTestCase {
    func testConcurrentHitMissMutate() throws {
        let dir = TempDir()
        let files = 400
        for i in 0..<files { dir.write("f\(i)", "v0-\(i)") }
        // 4 shards of 64 entries for 400 files: admissions and evictions all along.
        let cache = FileCache(config: testConfig { $0.capacityBytes = 256_000; $0.capacityEntries = 256 },
                              persistence: MemoryPersistence(), shardCount: 4, workers: 8,
                              policyFactory: { makePolicy(.default, capacity: $0) })
        let threads = 6
        let rounds = 400
        let wrongBodies = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var rng = SystemRandomNumberGenerator()
            for r in 0..<rounds {
                let i = Int.random(in: 0..<files, using: &rng)
                let path = "/f\(i)"
                if t == 0 && r % 10 == 0 {
                    dir.replaceByRename("f\(i)", "v\(r)-\(i)")   // a writer: rename-replace
                    continue
                }
                if t == 1 && r % 50 == 0 { cache.purge(prefix: "s/f1"); continue }
                if let e = cache.lookup(site: "s", path: path, worker: t) {
                    // The mapping must hold this file's content (some version of it).
                    if !body(of: e).hasSuffix("-\(i)") { wrongBodies.add() }
                    cache.countServed(bytes: e.identity.size, worker: t)
                } else if let candidate = try? makeCandidate(dir.path + path) {
                    _ = cache.admit(site: "s", path: path, file: candidate, worker: t)
                }
                if r % 100 == 0 { _ = cache.stats(); _ = cache.topEntries(3) }
                if t == 2 && r % 100 == 50 { try? cache.persistState() }
            }
        }
        XCTAssertEqual(wrongBodies.value, 0)
        let s = cache.stats()
        XCTAssertLessThanOrEqual(s.entries, 256)
        XCTAssertGreaterThan(s.evictions, 0)
        XCTAssertEqual(s.hits + s.misses, UInt64(threads * rounds) - UInt64(rounds / 10) - UInt64(rounds / 50))
        XCTAssertGreaterThan(s.hits, 0)
        try cache.persistState()
    }

    func testConcurrentFirstHitsMapLoadedEntriesOnce() throws {
        let dir = TempDir()
        let store = MemoryPersistence()
        let first = makeCache(testConfig(), persistence: store, shards: 2)
        for i in 0..<16 { _ = first.admit(site: "s", path: "/f\(i)", file: try makeCandidate(dir.write("f\(i)", "body \(i)")), worker: 0) }
        try first.persistState()
        let second = makeCache(testConfig(), persistence: store, shards: 2)
        XCTAssertEqual(try second.load().loaded, 16)
        let wrong = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for r in 0..<200 {
                let i = (r + t) % 16
                guard let e = second.lookup(site: "s", path: "/f\(i)", worker: t), body(of: e) == "body \(i)" else { wrong.add(); continue }
            }
        }
        XCTAssertEqual(wrong.value, 0)
        XCTAssertEqual(second.stats().entries, 16)
        XCTAssertTrue(second.entries(prefix: nil, sort: .key, limit: 100, offset: 0).rows.allSatisfy(\.mapped))
    }
}

final class LockedCounter: Sendable {
    private let n = Lock(0)
    func add() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
