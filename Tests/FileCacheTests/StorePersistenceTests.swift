import CachePolicies
import CacheStore
import CapuchinServer
import Foundation
import XCTest
@testable import FileCache

/// The round trip through the real LMDB store: fill, close, reopen.
final class StorePersistenceTests: XCTestCase {
    private func openStore(_ dir: String) throws -> StorePersistence { try openTestStore(dir) }

    private func cache(_ p: CachePersistence, _ kind: PolicyKind) -> FileCache {
        FileCache(config: testConfig { $0.capacityEntries = 1000; $0.warmEagerEntries = 4 }, persistence: p, shardCount: 4,
                  workers: 4, policyFactory: { makePolicy(kind, capacity: $0) })
    }

    private func snapshot(_ cache: FileCache) -> [String: PolicyEntryState] {
        var out: [String: PolicyEntryState] = [:]
        for shard in cache.shards {
            shard.state.withLock { s in for (h, e) in s.entries { out[e.key] = s.policy.state(of: h) } }
        }
        return out
    }

    func testWhileTheIndexLoadsLookupsReadTheStoreAndAdmissionsWait() throws {
        let docs = TempDir()
        let state = TempDir()
        var store = try openStore(state.path + "/cache")
        let first = cache(store, .default)
        for i in 0..<10 {
            _ = first.admit(site: "s", path: "/f\(i)", file: try makeCandidate(docs.write("f\(i)", "file \(i)")), worker: 0)
        }
        try first.persistState()
        store.store.close()
        try "changed!".write(toFile: docs.path + "/f1", atomically: true, encoding: .utf8)

        store = try openStore(state.path + "/cache")
        let second = cache(store, .default)
        second.warming.store(true, ordering: .releasing)  // as startLoading does, before its thread loads
        let hit = try XCTUnwrap(second.lookup(site: "s", path: "/f2", worker: 0), "a stored, unchanged file is a hit at once")
        XCTAssertEqual(hit.identity.size, 6)
        XCTAssertNotNil(hit.mapping)
        XCTAssertNil(second.lookup(site: "s", path: "/f1", worker: 0), "a changed file is not")
        XCTAssertNil(second.lookup(site: "s", path: "/nothing", worker: 0))
        XCTAssertEqual(second.admit(site: "s", path: "/g", file: try makeCandidate(docs.write("g", "g")), worker: 0).outcome, .notAdmitted)
        XCTAssertTrue(second.shards.allSatisfy { $0.state.withLock { $0.entries.isEmpty } }, "point reads insert nothing")
        second.warming.store(false, ordering: .releasing)

        // The real thing: load on a thread, then the index holds the fresh entries.
        try second.startLoading { XCTFail("load failed: \($0)") }
        second.waitUntilLoaded()
        XCTAssertFalse(second.isWarming)
        XCTAssertEqual(second.shards.reduce(0) { n, s in n + s.state.withLock { $0.entries.count } }, 9)
        XCTAssertNotNil(second.lookup(site: "s", path: "/f2", worker: 0))
        store.store.close()
    }

    func testRoundTripThroughLMDB() throws {
        for kind in [PolicyKind.lru, .default] {
            let docs = TempDir()
            let state = TempDir()
            var store = try openStore(state.path + "/cache")
            let first = cache(store, kind)
            for i in 0..<40 {
                _ = first.admit(site: "s", path: "/f\(i)", file: try makeCandidate(docs.write("f\(i)", "file \(i)")), worker: 0)
            }
            for r in 0..<200 { _ = first.lookup(site: "s", path: "/f\((r * r) % 40)", worker: r % 4) }
            try first.persistState()
            let before = snapshot(first)
            let hitsBefore = first.stats().hits
            let blob = first.shards[0].state.withLock { $0.policy.exportGlobalState() }
            store.store.close()

            unlink(docs.path + "/f0")                    // stale on reload
            store = try openStore(state.path + "/cache")
            let second = cache(store, kind)
            let report = try second.load()
            XCTAssertEqual(report.stale, 1, "\(kind)")
            XCTAssertEqual(report.loaded, before.count - 1, "\(kind)")
            XCTAssertEqual(report.mappedEagerly, 4)
            var expected = before
            expected["s/f0"] = nil
            XCTAssertEqual(snapshot(second), expected, "\(kind): the policies got their per-entry state back")
            XCTAssertEqual(second.shards[0].state.withLock { $0.policy.exportGlobalState() }, blob, "\(kind): and their global state")
            XCTAssertEqual(second.stats().hits, hitsBefore, "counters are totals across runs")
            XCTAssertEqual(second.topEntries(1).first?.key, first.topEntries(2).first { $0.key != "s/f0" }?.key)
            try store.flush()
            XCTAssertNil(try store.store.get("s/f0"), "the stale entry left the store")
            let e = try XCTUnwrap(second.lookup(site: "s", path: "/f7", worker: 0))
            XCTAssertEqual(body(of: e), "file 7")
            store.store.close()
        }
    }
}
