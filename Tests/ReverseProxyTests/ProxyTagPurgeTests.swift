import CacheStore
import CapuchinSystem
import Foundation
import HTTPCore
import XCTest
@testable import ReverseProxy
import TestSupport

/// Purges by tag and prefix as stamps (`PurgeStamps`): in force for lookups
/// when the purge returns, before the lurker has removed anything, and after a
/// crash that stopped the lurker; the lurker then removes exactly what they cover.
final class ProxyTagPurgeTests: XCTestCase {
    typealias Target = PurgeStamps.Target

    // MARK: the stamps alone

    func testVerdictsOfTagAndPrefixStamps() {
        var s = PurgeStamps()
        XCTAssertTrue(s.isEmpty)
        s.record(Target(kind: .tag, name: "red"), soft: false, at: 100)
        XCTAssertFalse(s.isEmpty)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/a#0", tags: ["blue", "red"], validatedAtNanos: 50), .hard)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/a#0", tags: ["red"], validatedAtNanos: 150), .none, "stored after the purge")
        XCTAssertEqual(s.verdict(key: "proxy:http://h/a#0", tags: ["blue"], validatedAtNanos: 50), .none)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/a#0", tags: [], validatedAtNanos: 50), .none)
        s.record(Target(kind: .tag, name: "blue"), soft: true, at: 200)
        s.record(Target(kind: .tag, name: "blue"), soft: true, at: 180)
        XCTAssertEqual(s.verdict(key: "k", tags: ["blue"], validatedAtNanos: 150), .soft(200), "the later soft purge counts")
        XCTAssertEqual(s.verdict(key: "k", tags: ["blue", "red"], validatedAtNanos: 50), .hard, "hard wins over soft")
        s.record(Target(kind: .prefix, name: "proxy:http://h/img/"), soft: false, at: 300)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/img/x#0", tags: [], validatedAtNanos: 250), .hard)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/imgx#0", tags: [], validatedAtNanos: 250), .none)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/img/x#0", tags: [], validatedAtNanos: 350), .none)
        // Settling: only the stamp the lurker carried out; a later purge keeps its own.
        XCTAssertFalse(s.settle(Target(kind: .tag, name: "blue"), soft: true, at: 180))
        XCTAssertFalse(s.settle(Target(kind: .tag, name: "blue"), soft: false, at: 200))
        XCTAssertTrue(s.settle(Target(kind: .tag, name: "blue"), soft: true, at: 200))
        XCTAssertEqual(s.verdict(key: "k", tags: ["blue"], validatedAtNanos: 150), .none)
        XCTAssertTrue(s.settle(Target(kind: .tag, name: "red"), soft: false, at: 100))
        XCTAssertTrue(s.settle(Target(kind: .prefix, name: "proxy:http://h/img/"), soft: false, at: 300))
        XCTAssertTrue(s.isEmpty)
        XCTAssertEqual(s.verdict(key: "proxy:http://h/img/x#0", tags: ["red"], validatedAtNanos: 1), .none)
    }

    func testStampsRoundTripAndDamagedBlobsAreRejected() throws {
        var s = PurgeStamps()
        s.record(Target(kind: .tag, name: "caf\u{e9} t"), soft: false, at: 1_700_000_000_000_000_000)
        s.record(Target(kind: .tag, name: "caf\u{e9} t"), soft: true, at: 5)
        s.record(Target(kind: .prefix, name: "proxy:"), soft: false, at: 3)
        let bytes = s.encoded()
        let back = try XCTUnwrap(PurgeStamps(encoded: bytes))
        XCTAssertEqual(back, s)
        XCTAssertEqual(back.verdict(key: "proxy:x", tags: [], validatedAtNanos: 2), .hard, "prefix stamps are restored as such")
        XCTAssertEqual(PurgeStamps(encoded: [1]), PurgeStamps())
        XCTAssertNil(PurgeStamps(encoded: []))
        XCTAssertNil(PurgeStamps(encoded: [9] + bytes.dropFirst()), "unknown version")
        for cut in [2, 6, bytes.count - 1] { XCTAssertNil(PurgeStamps(encoded: Array(bytes.prefix(cut))), "cut at \(cut)") }
        var badKind = bytes
        badKind[1] = 7
        XCTAssertNil(PurgeStamps(encoded: badKind))
    }

    // MARK: the store

    var dir = ""

    override func setUp() { dir = NSTemporaryDirectory() + "capuchin-stamps-\(UUID().uuidString)" }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func open() throws -> (ProxyBodyStore, CacheStore) { try ProxyBodyStore.openWithLMDB(in: dir) }

    @discardableResult
    private func fill(_ s: ProxyBodyStore, _ path: String, tags: [String], at nanos: Int64 = Clock.wallNanos()) throws -> CachedObject {
        let w = try s.makeWriter()
        try w.append(Array(path.utf8))
        let h = HTTPHeaders([("Cache-Control", "max-age=600"), ("ETag", "\"e\"")])
        let r = StoredResponse(status: 200, headers: h, requestTime: 100, responseTime: 100,
                               vary: VaryKey(responseHeaders: h, request: HTTPHeaders()), bodySize: 0)
        return try s.commit(w, primary: "http://h" + path, response: r, tags: tags, nowNanos: nanos)
    }

    private func has(_ s: ProxyBodyStore, _ path: String) -> CachedObject? {
        s.lookup(primary: "http://h" + path, requestHeaders: HTTPHeaders())
    }

    func testAHardPurgeHoldsAtOnceAndAfterACrashBeforeTheLurkerRan() throws {
        var (s, index) = try open()
        let a = try fill(s, "/a", tags: ["red"], at: 1)
        try fill(s, "/b", tags: ["blue"], at: 1)
        // The lurker is held back: the purge answers with nothing removed yet.
        s.lurker.suspend()
        XCTAssertEqual(try s.purge(tags: ["red"]), 1)
        XCTAssertNil(has(s, "/a"), "in force before any removal")
        XCTAssertFalse(s.hasVariants(primary: "http://h/a"), "a purged response is a URI miss")
        XCTAssertNotNil(has(s, "/b"))
        XCTAssertEqual(s.count, 2, "not removed yet")
        // kill -9 now: only what was committed counts (the purge committed its stamp).
        index.close()
        let crashed = s
        defer {
            // The dead process's lurker never ran; let it go (a suspended queue must not be freed).
            crashed.lurker.resume()
            crashed.waitForBodyRemovals()
        }
        (s, index) = try open()
        XCTAssertEqual(s.recovery.entriesKept, 2, "the purged entry was still indexed")
        XCTAssertNil(has(s, "/a"), "the acknowledged purge holds after the crash")
        XCTAssertNotNil(has(s, "/b"))
        // The restarted lurker removes the entry and drops the stamp.
        s.waitForBodyRemovals()
        XCTAssertEqual(s.count, 1)
        XCTAssertNil(BodyFiles.regularFileSize(a.entry.bodyPath))
        try index.flush()
        XCTAssertNil(try index.get(a.entry.key))
        XCTAssertEqual(try index.meta(PurgeStamps.blobName).flatMap { PurgeStamps(encoded: $0) }, PurgeStamps())
        // Stored again after the purge: a hit, and it stays.
        try fill(s, "/a", tags: ["red"])
        XCTAssertNotNil(has(s, "/a"))
        index.close()
        (s, index) = try open()
        defer { index.close() }
        s.waitForBodyRemovals()
        XCTAssertNotNil(has(s, "/a"))
        XCTAssertNotNil(has(s, "/b"))
    }

    func testAResponseStoredAfterThePurgeIsNotCovered() throws {
        let (s, index) = try open()
        defer { index.close() }
        try fill(s, "/a", tags: ["t"], at: 1)
        try fill(s, "/c", tags: ["t"], at: 1)
        s.lurker.suspend()
        XCTAssertEqual(try s.purge(tags: ["t"]), 2)
        XCTAssertNil(has(s, "/a"))
        let fresh = try fill(s, "/a", tags: ["t"])
        XCTAssertEqual(has(s, "/a")?.entry.bodyPath, fresh.entry.bodyPath)
        s.lurker.resume()
        s.waitForBodyRemovals()
        XCTAssertEqual(has(s, "/a")?.entry.bodyPath, fresh.entry.bodyPath, "the lurker leaves it alone")
        XCTAssertNil(has(s, "/c"))
        XCTAssertEqual(s.count, 1)
        XCTAssertNotNil(BodyFiles.regularFileSize(fresh.entry.bodyPath))
    }

    func testASoftPurgeIsStaleAtOnceAndA304EndsIt() throws {
        let (s, index) = try open()
        defer { index.close() }
        try fill(s, "/a", tags: ["t"], at: 1)
        try fill(s, "/b", tags: ["t"], at: 1)
        s.lurker.suspend()
        XCTAssertEqual(try s.purge(tags: ["t"], soft: true), 2)
        let a = try XCTUnwrap(has(s, "/a"))
        XCTAssertNotEqual(a.entry.softPurgedAtNanos, 0, "stale before the lurker marked it")
        // A 304 before the lurker came: fresh, and the lurker leaves it so.
        s.updateMetadata(of: a, to: a.response)
        XCTAssertEqual(has(s, "/a")?.entry.softPurgedAtNanos, 0)
        s.lurker.resume()
        s.waitForBodyRemovals()
        XCTAssertEqual(has(s, "/a")?.entry.softPurgedAtNanos, 0)
        let b = try XCTUnwrap(has(s, "/b"))
        XCTAssertNotEqual(b.entry.softPurgedAtNanos, 0)
        try index.flush()
        XCTAssertNotEqual(try index.get(b.entry.key)?.softPurgedAtNanos ?? 0, 0, "marked in the index by the lurker")
        XCTAssertEqual(s.count, 2)
    }

    func testPrefixPurgesAndClearAreStampsToo() throws {
        let (s, index) = try open()
        defer { index.close() }
        for p in ["/img/1", "/img/2", "/imgx", "/doc"] { try fill(s, p, tags: [], at: 1) }
        s.lurker.suspend()
        XCTAssertEqual(s.purge(prefix: "proxy:http://h/img/"), 2)
        XCTAssertEqual(s.purge(prefix: "/other"), 0)
        XCTAssertNil(has(s, "/img/1"))
        XCTAssertNil(has(s, "/img/2"))
        XCTAssertNotNil(has(s, "/imgx"))
        XCTAssertEqual(s.purge(prefix: "proxy:http://h/d", soft: true), 1)
        XCTAssertNotEqual(has(s, "/doc")?.entry.softPurgedAtNanos ?? 0, 0)
        s.lurker.resume()
        s.waitForBodyRemovals()
        XCTAssertEqual(s.count, 2)
        // A clear (every key starts with `proxy:`; "" means them all too).
        s.lurker.suspend()
        XCTAssertEqual(s.purge(prefix: ""), 2)
        XCTAssertNil(has(s, "/imgx"))
        XCTAssertNil(has(s, "/doc"))
        s.lurker.resume()
        s.waitForBodyRemovals()
        XCTAssertEqual(s.count, 0)
        try index.flush()
        XCTAssertEqual(try index.stats().entries, 0)
    }

    func testRemovalsAreReportedForTheirVariants() throws {
        let (s, index) = try open()
        defer { index.close() }
        let gone = Lock<[String]>([])
        s.removalHook.withLock { $0 = { entries in gone.withLock { $0 += entries.map(\.key) } } }
        let a = try fill(s, "/a", tags: ["t"], at: 1)
        let b = try fill(s, "/b", tags: [], at: 1)
        let c = try fill(s, "/c", tags: [], at: 1)
        let d = try fill(s, "/d", tags: [], at: 1)
        XCTAssertEqual(try s.purge(tags: ["t"]), 1)
        XCTAssertEqual(s.purge(key: b.entry.key), 1)
        XCTAssertEqual(s.purge(prefix: "proxy:http://h/c"), 1)
        s.invalidate(primary: "http://h/d")
        s.waitForBodyRemovals()
        XCTAssertEqual(Set(gone.withLock { $0 }), [a.entry.key, b.entry.key, c.entry.key, d.entry.key])
    }
}

extension ProxyBodyStore {
    /// A store over a real LMDB index in `dir` that commits every 5 ms (purge tests).
    static func openWithLMDB(in dir: String) throws -> (ProxyBodyStore, CacheStore) {
        var o = StoreOptions()
        o.commitIntervalMillis = 5
        o.mapSize = 64 << 20
        let index = try CacheStore(directory: dir + "/proxy-index", options: o)
        return (try ProxyBodyStore(cacheDirectory: dir, index: CacheStoreIndex(store: index)), index)
    }
}
