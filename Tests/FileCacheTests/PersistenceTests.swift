import CachePolicies
import XCTest
@testable import FileCache

final class PersistenceTests: XCTestCase {
    func testRoundTripKeepsEntriesAndPolicyState() throws {
        let dir = TempDir()
        let store = MemoryPersistence()
        let first = makeCache(testConfig(), persistence: store, shards: 2)
        for i in 0..<6 {
            _ = first.admit(site: "s", path: "/f\(i)", file: try makeCandidate(dir.write("f\(i)", "file \(i)")), worker: 0)
        }
        for i in [3, 1, 3, 3] { XCTAssertNotNil(first.lookup(site: "s", path: "/f\(i)", worker: 1)) }
        try first.persistState()
        XCTAssertEqual(store.flushes, 1)
        let before = statesByKey(first)

        let second = makeCache(testConfig(), persistence: store, shards: 2)
        let report = try second.load()
        XCTAssertEqual(report, CacheLoadReport(loaded: 6, stale: 0, dropped: 0, mappedEagerly: 0))
        XCTAssertEqual(statesByKey(second), before)
        XCTAssertEqual(second.topEntries(1).map(\.key), ["s/f3"])
        XCTAssertEqual(second.topEntries(1).first?.hits, 4)
        let e = try XCTUnwrap(second.lookup(site: "s", path: "/f4", worker: 0), "a loaded entry is a hit at once")
        XCTAssertEqual(body(of: e), "file 4")
        XCTAssertEqual(second.stats().hits, 5, "totals count since the store was created")
        XCTAssertEqual(second.stats().admissions, 6)
        XCTAssertEqual(try store.counter("cache.hits"), 5, "the first request of a run sends its deltas")
    }

    func testStaleEntriesAreDroppedOnLoad() throws {
        let dir = TempDir()
        let store = MemoryPersistence()
        let first = makeCache(testConfig(), persistence: store)
        for name in ["keep", "edit", "swap", "gone"] {
            _ = first.admit(site: "s", path: "/" + name, file: try makeCandidate(dir.write(name, name)), worker: 0)
        }
        try first.persistState()
        dir.write("edit", "edited, longer")
        dir.replaceByRename("swap", "swap")
        unlink(dir.path + "/gone")

        let second = makeCache(testConfig { $0.warmEagerEntries = 10 }, persistence: store)
        let report = try second.load()
        XCTAssertEqual(report.loaded, 1)
        XCTAssertEqual(report.stale, 3)
        XCTAssertEqual(report.mappedEagerly, 1)
        XCTAssertEqual(try store.entries(prefix: nil).map(\.key), ["s/keep"])
        XCTAssertNil(second.lookup(site: "s", path: "/edit", worker: 0))
    }

    func testLoadAppliesCurrentRules() throws {
        let dir = TempDir()
        let store = MemoryPersistence()
        let first = makeCache(testConfig(), persistence: store)
        _ = first.admit(site: "s", path: "/a.css", file: try makeCandidate(dir.write("a.css", "x")), worker: 0)
        _ = first.admit(site: "s", path: "/a.js", file: try makeCandidate(dir.write("a.js", "y")), worker: 0)
        let second = makeCache(testConfig { $0.excludeExtensions = ["js"] }, persistence: store)
        let report = try second.load()
        XCTAssertEqual(report.loaded, 1)
        XCTAssertEqual(report.dropped, 1)
        XCTAssertEqual(try store.entries(prefix: nil).map(\.key), ["s/a.css"])
    }

    func testLazyMappingRefusesAnotherFileAtThePath() throws {
        let dir = TempDir()
        let store = MemoryPersistence()
        let first = makeCache(testConfig(), persistence: store)
        _ = first.admit(site: "s", path: "/a", file: try makeCandidate(dir.write("a", "one")), worker: 0)
        let second = makeCache(testConfig { $0.revalidateInterval = 3600 }, persistence: store)
        XCTAssertEqual(try second.load().loaded, 1)
        dir.replaceByRename("a", "two")
        // No stat on this hit (interval), but mapping opens the file and checks it.
        XCTAssertNil(second.lookup(site: "s", path: "/a", worker: 0))
        XCTAssertEqual(second.stats().staleDrops, 1)
    }

    private func statesByKey(_ cache: FileCache) -> [String: PolicyEntryState] {
        var out: [String: PolicyEntryState] = [:]
        for shard in cache.shards {
            shard.state.withLock { s in
                for (h, e) in s.entries { out[e.key] = s.policy.state(of: h) }
            }
        }
        return out
    }

    /// The load reads the index without stat (a million stats were most of its
    /// time) and checks the files in a second pass; an entry's first hit stats it
    /// whatever `revalidate_interval` says, so a file changed since is never served.
    func testALoadedEntryIsCheckedOnItsFirstHit() throws {
        let dir = TempDir()
        let store = MemoryPersistence()
        let first = makeCache(testConfig(), persistence: store)
        _ = first.admit(site: "s", path: "/a", file: try makeCandidate(dir.write("a", "first")), worker: 0)
        try first.persistState()
        let second = makeCache(testConfig { $0.revalidateInterval = 3600 }, persistence: store)
        XCTAssertEqual(try second.load().loaded, 1)
        XCTAssertNotNil(second.lookup(site: "s", path: "/a", worker: 0))
        XCTAssertEqual(second.stats().revalidations, 1, "the first hit after the load stats the file")
        XCTAssertNotNil(second.lookup(site: "s", path: "/a", worker: 0))
        XCTAssertEqual(second.stats().revalidations, 1, "then the interval applies")
    }
}

