import CacheStore
import Foundation
import HTTPCore
import XCTest
@testable import ReverseProxy
import TestSupport

/// Purges by tag, and soft purges, of the proxy's body store over the real
/// LMDB index: memory, index and body files agree, also after a reopen.
final class ProxyPurgeTests: XCTestCase {
    var dir = ""

    override func setUp() { dir = NSTemporaryDirectory() + "capuchin-purge-\(UUID().uuidString)" }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func open() throws -> (ProxyBodyStore, CacheStore) { try ProxyBodyStore.openWithLMDB(in: dir) }

    private let rules = HTTPCacheRules()

    /// Stores `path` with the tags its origin headers give.
    @discardableResult
    private func fill(_ s: ProxyBodyStore, _ path: String, headers: [(String, String)]) throws -> CachedObject {
        let h = HTTPHeaders([("Cache-Control", "max-age=600"), ("ETag", "\"\(path)\"")] + headers)
        let request = makeRequest("GET", path)
        guard case .store(let stored) = rules.storability(request: request, status: 200, headers: h) else {
            XCTFail("not storable")
            throw ProxyStoreError.notAdmitted
        }
        let w = try s.makeWriter()
        try w.append(Array(path.utf8))
        let r = StoredResponse(status: 200, headers: stored, requestTime: 100, responseTime: 100,
                               vary: VaryKey(responseHeaders: h, request: HTTPHeaders()), bodySize: 0)
        return try s.commit(w, primary: "http://h" + path, response: r, tags: rules.tagging.tags(in: h), nowNanos: 1)
    }

    private func has(_ s: ProxyBodyStore, _ path: String) -> CachedObject? {
        s.lookup(primary: "http://h" + path, requestHeaders: HTTPHeaders())
    }

    func testTagsComeFromBothFieldsAndAreNotStored() {
        let h = HTTPHeaders([("Surrogate-Key", " a  b\tc "), ("Cache-Tag", "c, d ,,e"), ("surrogate-key", "a f")])
        XCTAssertEqual(CacheTags().tags(in: h), ["a", "b", "c", "d", "e", "f"])
        XCTAssertEqual(CacheTags(fields: ["Cache-Tag"]).tags(in: h), ["c", "d", "e"])
        let request = makeRequest()
        let withTags = HTTPHeaders([("Cache-Control", "max-age=60"), ("Surrogate-Key", "a"), ("Cache-Tag", "b")])
        guard case .store(let stored) = HTTPCacheRules().storability(request: request, status: 200, headers: withTags),
              case .store(let kept) = HTTPCacheRules(tagging: CacheTags(strips: false)).storability(request: request, status: 200, headers: withTags)
        else { return XCTFail("not storable") }
        XCTAssertFalse(stored.contains("Surrogate-Key") || stored.contains("Cache-Tag"))
        XCTAssertTrue(kept.contains("Surrogate-Key") && kept.contains("Cache-Tag"))
        var client = withTags
        CacheTags().strip(&client)
        XCTAssertEqual(client.count, 1)
    }

    func testPurgeByTagsRemovesExactlyTheTaggedResponses() throws {
        let (s, index) = try open()
        defer { index.close() }
        try fill(s, "/a", headers: [("Surrogate-Key", "red blue")])
        try fill(s, "/b", headers: [("Cache-Tag", "red")])
        let c = try fill(s, "/c", headers: [("Surrogate-Key", "green")])
        try fill(s, "/d", headers: [])
        // Tags purge is found by the index: no flush needed first.
        XCTAssertEqual(try s.purge(tags: ["red"]), 2)
        XCTAssertNil(has(s, "/a"))
        XCTAssertNil(has(s, "/b"))
        XCTAssertNotNil(has(s, "/c"))
        XCTAssertNotNil(has(s, "/d"))
        // The entries themselves go in the background (the purge's stamp holds meanwhile).
        s.waitForBodyRemovals()
        try index.flush()
        XCTAssertEqual(try index.keys(taggedWith: ["red", "blue"]), [])
        XCTAssertEqual(try index.entries(prefix: "proxy:").count, 2)
        XCTAssertEqual(try index.tagPairsIndexedAndCarried().indexed, 1)
        XCTAssertEqual(try s.purge(tags: ["green", "nothing"]), 1)
        s.waitForBodyRemovals()
        XCTAssertNil(BodyFiles.regularFileSize(c.entry.bodyPath), "the body file stays after a purge")
        XCTAssertEqual(s.count, 1)
    }

    func testSoftPurgeMarksStalePersistsAndARevalidationClearsIt() throws {
        var (s, index) = try open()
        try fill(s, "/a", headers: [("Surrogate-Key", "t")])
        try fill(s, "/b", headers: [("Surrogate-Key", "t")])
        try fill(s, "/c", headers: [("Surrogate-Key", "u")])
        XCTAssertEqual(try s.purge(tags: ["t"], soft: true), 2)
        let a = try XCTUnwrap(has(s, "/a"))
        XCTAssertNotEqual(a.entry.softPurgedAtNanos, 0)
        XCTAssertEqual(rules.use(of: a.response, now: 101, softPurged: true), .revalidate(staleIfErrorAllowed: true))
        XCTAssertEqual(has(s, "/c")?.entry.softPurgedAtNanos, 0)
        XCTAssertEqual(s.purge(key: "proxy:http://h/c", soft: true), 1)
        s.waitForBodyRemovals()
        try index.flush()
        index.close()

        (s, index) = try open()
        defer { index.close() }
        s.waitUntilLoaded()
        for p in ["/a", "/b", "/c"] { XCTAssertNotEqual(has(s, p)?.entry.softPurgedAtNanos ?? 0, 0, p) }
        // Still tagged: a later hard purge by tag finds them.
        XCTAssertEqual(try index.keys(taggedWith: ["t"]).count, 2)
        // A 304 (new metadata) ends the soft purge, durably.
        let b = try XCTUnwrap(has(s, "/b"))
        s.updateMetadata(of: b, to: b.response)
        XCTAssertEqual(has(s, "/b")?.entry.softPurgedAtNanos, 0)
        try index.flush()
        XCTAssertEqual(try index.get(b.entry.key)?.softPurgedAtNanos, 0)
        XCTAssertEqual(try index.get(b.entry.key)?.tags, ["t"])
        XCTAssertEqual(s.purge(prefix: "proxy:http://h/", soft: true), 3)
    }

    func testPurgeOfManyKeysGoesInBatches() throws {
        let (s, index) = try open()
        defer { index.close() }
        let n = ProxyBodyStore.purgeBatch * 2 + 7
        for i in 0..<n { try fill(s, "/m\(i)", headers: [("Cache-Tag", "many, m\(i % 2)")]) }
        try fill(s, "/other", headers: [("Cache-Tag", "other")])
        XCTAssertEqual(try s.purge(tags: ["m1"], soft: true), n / 2)
        XCTAssertEqual(try s.purge(tags: ["many"]), n)
        s.waitForBodyRemovals()
        XCTAssertEqual(s.count, 1)
        try index.flush()
        XCTAssertEqual(try index.stats().entries, 1)
        let pairs = try index.tagPairsIndexedAndCarried()
        XCTAssertEqual(pairs.indexed, pairs.carried)
    }

    func testATagPurgeFollowsReplacementsRemovalsAndAReopen() throws {
        var (s, index) = try open()
        try fill(s, "/a", headers: [("Cache-Tag", "old, both")])
        try fill(s, "/b", headers: [("Cache-Tag", "both")])
        // Stored again with other tags: found by its new tags only.
        try fill(s, "/a", headers: [("Cache-Tag", "new, both")])
        XCTAssertEqual(try s.purge(tags: ["old"], soft: true), 0)
        XCTAssertEqual(try s.purge(tags: ["new"], soft: true), 1)
        s.remove(key: try XCTUnwrap(has(s, "/b")).entry.key)
        XCTAssertEqual(try s.purge(tags: ["both"], soft: true), 1)
        s.waitForBodyRemovals()
        try index.flush()
        index.close()
        // Reopened: the map is rebuilt from the index's records.
        (s, index) = try open()
        defer { index.close() }
        s.waitUntilLoaded()
        XCTAssertEqual(try s.purge(tags: ["both", "new"]), 1)
        XCTAssertNil(has(s, "/a"))
        s.waitForBodyRemovals()
        XCTAssertEqual(s.count, 0)
        XCTAssertEqual(try s.purge(tags: ["both"]), 0)
    }
}
