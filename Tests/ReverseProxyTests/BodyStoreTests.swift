import XCTest
import Glibc
import CapuchinSystem
import HTTPCore
@testable import ReverseProxy
import TestSupport

/// An index with the store's semantics: `put`/`remove` are queued and become
/// durable at `flush`; `crash()` loses what was queued, as kill -9 does.
final class QueuedIndex: ProxyIndex {
    var durable: [String: ProxyIndexEntry] = [:]
    private var queue: [(String, ProxyIndexEntry?)] = []

    func put(_ entry: ProxyIndexEntry) { queue.append((entry.key, entry)) }
    func remove(key: String) { queue.append((key, nil)) }
    func proxiedEntries() throws -> [ProxyIndexEntry] { durable.values.sorted { $0.key < $1.key } }
    func flush() throws {
        for (key, entry) in queue { durable[key] = entry }
        queue = []
    }
    func crash() { queue = [] }
}

final class BodyStoreTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    var dir: String { scratch.path }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-proxy") }

    override func tearDown() { scratch = nil }

    private func response(_ headers: [(String, String)], request: [(String, String)] = []) -> StoredResponse {
        StoredResponse(status: 200, headers: HTTPHeaders(headers), requestTime: 100, responseTime: 101,
                       vary: VaryKey(responseHeaders: HTTPHeaders(headers), request: HTTPHeaders(request)), bodySize: 0)
    }

    @discardableResult
    private func store(_ s: ProxyBodyStore, _ primary: String, _ body: String, _ r: StoredResponse) throws -> CachedObject {
        let w = try s.makeWriter()
        try w.append(Array(body.utf8))
        return try s.commit(w, primary: primary, response: r, nowNanos: 1)
    }

    private func read(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func write(_ path: String, _ text: String) {
        let f = fopen(path, "wb")!
        _ = text.withCString { fputs($0, f) }
        fclose(f)
    }

    private func filesUnder(_ path: String) -> [String] {
        BodyFiles.list(path).flatMap { name -> [String] in
            let p = path + "/" + name
            return BodyFiles.regularFileSize(p) != nil ? [p] : filesUnder(p)
        }.sorted()
    }

    func testStoredBodiesSurviveARestart() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index, durability: .sync)
        let gz = response([("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding"), ("ETag", "\"g\"")], request: [("Accept-Encoding", "gzip")])
        let plain = response([("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")])
        try store(s, "h:/a", "gzipped", gz)
        try store(s, "h:/a", "plain", plain)
        try index.flush()

        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        XCTAssertEqual(reopened.recovery, RecoveryReport(temporaryFilesRemoved: 0, orphanBodiesRemoved: 0, entriesDropped: 0, entriesKept: 2))
        let hit = try XCTUnwrap(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders([("Accept-Encoding", "gzip")])))
        XCTAssertEqual(read(hit.entry.bodyPath), "gzipped")
        XCTAssertEqual(hit.response, { var r = gz; r.bodySize = 7; return r }())
        XCTAssertEqual(hit.entry.etag, "\"g\"")
        XCTAssertEqual(read(try XCTUnwrap(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders())).entry.bodyPath), "plain")
        XCTAssertNil(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders([("Accept-Encoding", "br")])))
        XCTAssertNotNil(reopened.mappedBody(hit))
    }

    func testWhileTheIndexLoadsLookupsReadItAndNothingIsStored() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let gz = response([("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")], request: [("Accept-Encoding", "gzip")])
        let fresh = response([("Cache-Control", "max-age=60")])
        try store(s, "h:/a", "gzipped", gz)
        try store(s, "h:/b", "bee", fresh)
        try index.flush()

        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index, loadLater: true)
        XCTAssertTrue(reopened.isWarming)
        XCTAssertEqual(reopened.count, 0, "nothing loaded yet")
        let hit = try XCTUnwrap(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders([("Accept-Encoding", "gzip")])),
                                "a point read answers while the index loads")
        XCTAssertEqual(read(hit.entry.bodyPath), "gzipped")
        XCTAssertNotNil(reopened.mappedBody(hit))
        XCTAssertNil(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders([("Accept-Encoding", "br")])), "Vary still applies")
        XCTAssertNil(reopened.lookup(primary: "h:/", requestHeaders: HTTPHeaders()), "a shorter primary key is another key")
        // Nothing is stored while loading: the recovery would take the new body for an orphan.
        XCTAssertThrowsError(try store(reopened, "h:/c", "sea", fresh)) { XCTAssertEqual($0 as? ProxyStoreError, .notAdmitted) }
        // An unsafe method's invalidation reaches the index (and the body) before the load.
        let bBody = try XCTUnwrap(reopened.lookup(primary: "h:/b", requestHeaders: HTTPHeaders())).entry.bodyPath
        reopened.invalidate(primary: "h:/b")
        XCTAssertNil(read(bBody))
        try index.flush()

        let loaded = expectation(description: "loaded")
        try reopened.startLoading { error in
            XCTAssertNil(error)
            loaded.fulfill()
        }
        wait(for: [loaded], timeout: 10)
        reopened.waitUntilLoaded()
        XCTAssertFalse(reopened.isWarming)
        XCTAssertEqual(reopened.count, 1)
        XCTAssertEqual(reopened.recovery.entriesKept, 1)
        XCTAssertNil(reopened.lookup(primary: "h:/b", requestHeaders: HTTPHeaders()))
        XCTAssertNotNil(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders([("Accept-Encoding", "gzip")])))
        XCTAssertEqual(filesUnder(dir + "/proxy").count, 1, "no body or temporary file left from the refused store")
        try store(reopened, "h:/c", "sea", fresh)
        XCTAssertEqual(reopened.count, 2)
    }

    func testCrashLeavesNoEntryPointingAtAMissingOrPartialBody() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let r = response([("Cache-Control", "max-age=60")])
        let good = try store(s, "h:/good", "good body", r)
        let missing = try store(s, "h:/missing", "will vanish", r)
        let partial = try store(s, "h:/partial", "will be cut short", r)
        try index.flush()
        // Crash damage: a body file lost, one truncated, one temporary file half
        // written, one body renamed into place but never indexed (queue lost).
        unlink(missing.entry.bodyPath)
        write(partial.entry.bodyPath, "will")
        let half = try s.makeWriter()
        try half.append(Array("half".utf8))
        let halfPath = half.tempPath
        try store(s, "h:/unindexed", "orphan", r)
        index.crash()
        XCTAssertNotNil(BodyFiles.regularFileSize(halfPath))

        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        XCTAssertEqual(reopened.recovery, RecoveryReport(temporaryFilesRemoved: 1, orphanBodiesRemoved: 1, entriesDropped: 2, entriesKept: 1))
        XCTAssertEqual(Set(index.durable.keys), [good.entry.key])
        XCTAssertEqual(filesUnder(reopened.root), [good.entry.bodyPath])
        XCTAssertEqual(reopened.count, 1)
        XCTAssertNil(reopened.lookup(primary: "h:/partial", requestHeaders: HTTPHeaders()))
        XCTAssertNil(reopened.lookup(primary: "h:/unindexed", requestHeaders: HTTPHeaders()))
        for entry in index.durable.values {
            XCTAssertEqual(BodyFiles.regularFileSize(entry.bodyPath), entry.size)
        }
        _ = half
    }

    /// Past 4,096 entries the recovery checks them on several threads
    /// (`parallelMap`): each kept object is still its own entry's, and every
    /// damaged one is dropped.
    func testALargeIndexIsCheckedInParallelWithTheSameOutcome() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let n = 9_000
        var damaged = Set<String>()
        for i in 0..<n {
            let object = try store(s, "h:/\(i)", "body \(i)", response([("Cache-Control", "max-age=60")]))
            if i % 97 == 0 {
                unlink(object.entry.bodyPath)
                damaged.insert("h:/\(i)")
            } else if i % 101 == 0 {
                write(object.entry.bodyPath, "bo")
                damaged.insert("h:/\(i)")
            }
        }
        try index.flush()
        let entries = Array(index.durable.values), root = s.root
        XCTAssertGreaterThan(entries.count, 4096)
        XCTAssertEqual(ProxyBodyStore.parallelMap(entries) { ProxyBodyStore.checked($0, root: root).0?.entry },
                       entries.map { ProxyBodyStore.checked($0, root: root).0?.entry })
        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        XCTAssertEqual(reopened.recovery, RecoveryReport(temporaryFilesRemoved: 0, orphanBodiesRemoved: 0,
                                                         entriesDropped: damaged.count, entriesKept: n - damaged.count))
        XCTAssertEqual(reopened.count, n - damaged.count)
        for i in stride(from: 0, to: n, by: 7) {
            let found = reopened.lookup(primary: "h:/\(i)", requestHeaders: HTTPHeaders())
            if damaged.contains("h:/\(i)") { XCTAssertNil(found, "h:/\(i)"); continue }
            let object = try XCTUnwrap(found, "h:/\(i)")
            XCTAssertEqual(read(object.entry.bodyPath), "body \(i)", "the object of h:/\(i) is its own entry's")
        }
    }

    /// The load installs the table before it looks at any body file: the
    /// bodies are checked afterwards, while lookups and stores go on, and a
    /// response stored in between is neither taken for an orphan nor dropped.
    func testTheTableServesBeforeTheBodiesAreCheckedAndAStoreMeanwhileIsKept() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let fresh = response([("Cache-Control", "max-age=60")])
        try store(s, "h:/kept", "kept", fresh)
        let gone = try store(s, "h:/gone", "gone", fresh)
        try index.flush()
        unlink(gone.entry.bodyPath)
        write(dir + "/proxy/" + String(gone.entry.bodyPath.split(separator: "/").reversed()[1]) + "/orphan", "x")

        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index, loadLater: true)
        let installed = expectation(description: "installed")
        let newBody = Lock<String?>(nil)
        try reopened.startLoading { error in
            XCTAssertNil(error)
            // Installed, not yet checked: the missing body's entry is still in the table.
            XCTAssertEqual(reopened.count, 2)
            XCTAssertEqual(reopened.recovery.entriesKept, 2)
            let o = try? self.store(reopened, "h:/new", "new", fresh)
            newBody.withLock { $0 = o?.entry.bodyPath }
            installed.fulfill()
        }
        wait(for: [installed], timeout: 10)
        reopened.waitUntilLoaded()
        XCTAssertEqual(reopened.recovery, RecoveryReport(temporaryFilesRemoved: 0, orphanBodiesRemoved: 1, entriesDropped: 1, entriesKept: 1))
        XCTAssertNil(reopened.lookup(primary: "h:/gone", requestHeaders: HTTPHeaders()))
        let path = try XCTUnwrap(newBody.withLock { $0 })
        XCTAssertEqual(read(path), "new", "stored after the install: not an orphan")
        XCTAssertNotNil(reopened.lookup(primary: "h:/new", requestHeaders: HTTPHeaders()))
        XCTAssertEqual(reopened.count, 2)
        XCTAssertEqual(filesUnder(dir + "/proxy").count, 2)
    }

    func testCorruptMetadataIsDropped() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        var entry = try store(s, "h:/x", "body", response([])).entry
        entry.extra = Array(entry.extra.prefix(10))
        index.put(entry)
        try index.flush()
        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        XCTAssertEqual(reopened.recovery.entriesDropped, 1)
        XCTAssertEqual(reopened.recovery.orphanBodiesRemoved, 0)
        XCTAssertNil(BodyFiles.regularFileSize(entry.bodyPath), "the body of a dropped entry is removed")
        XCTAssertTrue(index.durable.isEmpty)
    }

    func testReplacingAVariantRemovesTheOldBody() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let first = try store(s, "h:/a", "v1", response([]))
        let second = try store(s, "h:/a", "v2", response([]))
        XCTAssertEqual(first.entry.key, second.entry.key)
        XCTAssertNil(BodyFiles.regularFileSize(first.entry.bodyPath))
        XCTAssertEqual(read(second.entry.bodyPath), "v2")
        XCTAssertEqual(s.count, 1)
        s.invalidate(primary: "h:/a")
        XCTAssertEqual(s.count, 0)
        XCTAssertNil(BodyFiles.regularFileSize(second.entry.bodyPath))
        try index.flush()
        XCTAssertTrue(index.durable.isEmpty)
    }

    func testTooLargeBodiesAreDiscarded() throws {
        let s = try ProxyBodyStore(cacheDirectory: dir, index: QueuedIndex(), maxObjectSize: 8)
        let w = try s.makeWriter()
        try w.append(Array("12345".utf8))
        XCTAssertThrowsError(try w.append(Array("6789".utf8))) { XCTAssertEqual($0 as? ProxyStoreError, .tooLarge(limit: 8)) }
        XCTAssertNil(BodyFiles.regularFileSize(w.tempPath))
        XCTAssertThrowsError(try s.commit(w, primary: "h:/big", response: response([]), nowNanos: 0))
        XCTAssertEqual(s.count, 0)
    }

    func testDamagedBodyIsNotServed() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let o = try store(s, "h:/a", "complete", response([]))
        write(o.entry.bodyPath, "cut")
        XCTAssertNil(s.mappedBody(o))
        XCTAssertNil(s.lookup(primary: "h:/a", requestHeaders: HTTPHeaders()))
    }

    func testMetadataUpdateKeepsTheBody() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let o = try store(s, "h:/a", "body", response([("Cache-Control", "max-age=1"), ("ETag", "\"1\"")]))
        var updated = o.response
        updated.headers.set("Cache-Control", "max-age=600")
        XCTAssertEqual(s.updateMetadata(of: o, to: updated).response.headers["Cache-Control"], "max-age=600")
        try index.flush()
        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let hit = try XCTUnwrap(reopened.lookup(primary: "h:/a", requestHeaders: HTTPHeaders()))
        XCTAssertEqual(hit.response.headers["Cache-Control"], "max-age=600")
        XCTAssertEqual(read(hit.entry.bodyPath), "body")
    }

    func testSizeLimitEvictsBodyAndIndexEntryTogether() throws {
        let index = QueuedIndex()
        let limit = ProxyCacheLimit(bytes: 100 * 64, entries: 100)   // 100 responses of up to 64 bytes
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index, limit: limit)
        for i in 0..<300 { _ = try? store(s, "h:/\(i)", "body \(i)", response([("Cache-Control", "max-age=60")])) }
        try index.flush()
        XCTAssertLessThanOrEqual(s.count, 100)
        XCTAssertGreaterThan(s.count, 50)
        XCTAssertEqual(index.durable.count, s.count)
        XCTAssertEqual(Set(filesUnder(dir + "/proxy").filter { !$0.hasPrefix(dir + "/proxy/tmp/") }), Set(index.durable.values.map(\.bodyPath)))
        let usage = try XCTUnwrap(s.usage)
        XCTAssertLessThanOrEqual(usage.charged, usage.capacity)
    }

    func testASmallerLimitAtStartDropsTheExcess() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        for i in 0..<120 { try store(s, "h:/\(i)", "body \(i)", response([("Cache-Control", "max-age=60")])) }
        try index.flush()
        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index, limit: ProxyCacheLimit(bytes: 50 * 64, entries: 50))
        try index.flush()
        XCTAssertLessThanOrEqual(reopened.count, 50)
        XCTAssertEqual(reopened.recovery.entriesKept, reopened.count)
        XCTAssertEqual(reopened.recovery.entriesDropped, 120 - reopened.count)
        XCTAssertEqual(index.durable.count, reopened.count)
        XCTAssertEqual(filesUnder(dir + "/proxy").filter { !$0.hasPrefix(dir + "/proxy/tmp/") }.count, reopened.count)
    }

    func testCodecRejectsDamagedInput() throws {
        let r = response([("Vary", "Accept"), ("X", "ü")], request: [("Accept", "a/b")])
        let bytes = StoredResponseCodec.encode(r)
        XCTAssertEqual(try StoredResponseCodec.decode(bytes), r)
        for cut in [0, 3, 4, 10, bytes.count - 1] {
            XCTAssertThrowsError(try StoredResponseCodec.decode(Array(bytes.prefix(cut))), "cut at \(cut)")
        }
        XCTAssertThrowsError(try StoredResponseCodec.decode(bytes + [0]))
        var wrongVersion = bytes
        wrongVersion[3] = 9
        XCTAssertThrowsError(try StoredResponseCodec.decode(wrongVersion))
    }
}
