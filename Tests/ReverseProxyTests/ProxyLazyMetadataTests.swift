import XCTest
import Glibc
import CapuchinSystem
import HTTPCore
@testable import ReverseProxy
import TestSupport

/// The load keeps each response's headers encoded (`CachedObject(loaded:)`)
/// and decodes them at its first use: that use must see exactly what was stored.
final class ProxyLazyMetadataTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    var dir: String { scratch.path }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-proxy-lazy") }

    override func tearDown() { scratch = nil }

    private func response(_ headers: [(String, String)], request: [(String, String)] = [], at time: Int64 = 1_700_000_000) -> StoredResponse {
        StoredResponse(status: 200, headers: HTTPHeaders(headers), requestTime: time - 1, responseTime: time,
                       vary: VaryKey(responseHeaders: HTTPHeaders(headers), request: HTTPHeaders(request)), bodySize: 0)
    }

    private func store(_ s: ProxyBodyStore, _ primary: String, _ body: String, _ r: StoredResponse) throws -> CachedObject {
        let w = try s.makeWriter()
        try w.append(Array(body.utf8))
        return try s.commit(w, primary: primary, response: r, nowNanos: 1)
    }

    private func tableObjects(_ s: ProxyBodyStore, _ primary: String) -> [CachedObject] {
        s.state.withLock { $0.table[primary] ?? [] }
    }

    func testALoadedResponseIsDecodedAtItsFirstUseExactlyAsStored() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let date = "Tue, 14 Nov 2023 22:13:20 GMT"
        let cases: [(primary: String, request: [(String, String)], response: StoredResponse)] = [
            ("h:/plain", [], response([("Date", date), ("Cache-Control", "max-age=600, stale-while-revalidate=30"),
                                       ("ETag", "\"p1\""), ("Last-Modified", date), ("Content-Type", "text/plain; charset=utf-8"),
                                       ("X-Long", "a field value well past fifteen bytes"), ("Age", "7")])),
            ("h:/varied", [("Accept-Language", "en")],
             response([("Date", date), ("Cache-Control", "s-maxage=900, max-age=60"), ("Vary", "Accept-Language"), ("ETag", "\"v1\"")],
                      request: [("Accept-Language", "en")])),
            ("h:/varied", [("Accept-Language", "fr")],
             response([("Date", date), ("Cache-Control", "s-maxage=900, max-age=60"), ("Vary", "Accept-Language"), ("ETag", "\"v2\"")],
                      request: [("Accept-Language", "fr")])),
            ("h:/stale", [], response([("Date", date), ("Cache-Control", "max-age=1, stale-if-error=3600"),
                                       ("Expires", "Tue, 14 Nov 2023 22:13:21 GMT"), ("Last-Modified", date)])),
        ]
        var stored: [CachedObject] = []
        for c in cases { stored.append(try store(s, c.primary, "body of \(c.primary)", c.response)) }
        try index.flush()

        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        XCTAssertEqual(reopened.recovery.entriesKept, 4)
        let loaded = ["h:/plain", "h:/varied", "h:/stale"].flatMap { tableObjects(reopened, $0) }
        XCTAssertEqual(loaded.count, 4)
        XCTAssertTrue(loaded.allSatisfy { !$0.isDecoded }, "the load leaves the headers encoded")
        XCTAssertEqual(Set(loaded.map(\.vary.value)), Set(stored.map(\.vary.value)), "the Vary keys are decoded at load")

        let now: Int64 = 1_700_000_500
        let rules = HTTPCacheRules()
        for (c, before) in zip(cases, stored) {
            let hit = try XCTUnwrap(reopened.lookup(primary: c.primary, requestHeaders: HTTPHeaders(c.request)), c.primary)
            XCTAssertTrue(hit.isDecoded, "a lookup decodes it")
            XCTAssertEqual(hit.entry.key, before.entry.key)
            XCTAssertEqual(hit.response, before.response, c.primary)
            XCTAssertEqual(hit.response.cacheControl, before.response.cacheControl)
            XCTAssertEqual(hit.response.dates, before.response.dates)
            XCTAssertEqual(hit.response.currentAge(now: now), before.response.currentAge(now: now))
            XCTAssertEqual(rules.use(of: hit.response, now: now, softPurged: false), rules.use(of: before.response, now: now, softPurged: false))
            XCTAssertEqual(HitHead(hit.response, via: "1.1 me").plainLines, HitHead(before.response, via: "1.1 me").plainLines)
            // The decoded headers are kept: the table's copy shares them.
            XCTAssertTrue(tableObjects(reopened, c.primary).first { $0.entry.key == hit.entry.key }!.isDecoded)
        }
        XCTAssertNil(reopened.lookup(primary: "h:/varied", requestHeaders: HTTPHeaders([("Accept-Language", "de")])))
    }

    func testAResponseStoredNowKeepsItsHeadersEncodedUntilItsFirstUse() throws {
        let s = try ProxyBodyStore(cacheDirectory: dir, index: QueuedIndex())
        let r = response([("Cache-Control", "max-age=60"), ("Vary", "Accept"), ("ETag", "\"s1\"")], request: [("Accept", "a/b")])
        let object = try store(s, "h:/s", "stored", r)
        XCTAssertFalse(object.isDecoded)
        XCTAssertEqual(object.vary, r.vary)
        XCTAssertEqual(StoredResponseCodec.encode({ var e = r; e.bodySize = 6; return e }()), object.entry.extra)
        let hit = try XCTUnwrap(s.lookup(primary: "h:/s", requestHeaders: HTTPHeaders([("Accept", "a/b")])))
        XCTAssertTrue(hit.isDecoded && object.isDecoded, "decoded once, for every copy")
        XCTAssertEqual(hit.response, { var e = r; e.bodySize = 6; return e }())
    }

    func testTheLoadChecksWhatTheFirstUseDecodes() throws {
        let r = response([("Vary", "Accept, Accept-Language"), ("X", "ü"), ("Cache-Control", "max-age=5")],
                         request: [("Accept", "a/b"), ("Accept-Language", "en")])
        let bytes = StoredResponseCodec.encode(r)
        let summary = try StoredResponseCodec.summary(bytes)
        XCTAssertEqual(summary.vary, r.vary)
        XCTAssertEqual(summary.status, 200)
        XCTAssertEqual(summary.bodySize, 0)
        // Every truncation, an extra byte and each byte flipped: the summary fails exactly when the decode does.
        var damaged = (0..<bytes.count).map { Array(bytes.prefix($0)) } + [bytes + [0]]
        for i in bytes.indices { var b = bytes; b[i] ^= 0xFF; damaged.append(b) }
        for b in damaged {
            XCTAssertEqual((try? StoredResponseCodec.summary(b)) == nil, (try? StoredResponseCodec.decode(b)) == nil, "\(b)")
        }
        XCTAssertTrue(damaged.contains { (try? StoredResponseCodec.summary($0)) == nil })
    }

    func testHeadersThatNoLongerDecodeAtFirstUseAreDroppedNotServed() throws {
        let index = QueuedIndex()
        let s = try ProxyBodyStore(cacheDirectory: dir, index: index)
        let object = try store(s, "h:/x", "body", response([("Cache-Control", "max-age=60")]))
        try index.flush()
        let reopened = try ProxyBodyStore(cacheDirectory: dir, index: index)
        // As if its bytes were damaged in memory after the load checked them.
        reopened.state.withLock { $0.table["h:/x"]![0].entry.extra = Array(object.entry.extra.prefix(10)) }
        XCTAssertNil(reopened.lookup(primary: "h:/x", requestHeaders: HTTPHeaders()))
        XCTAssertEqual(reopened.count, 0)
        try index.flush()
        XCTAssertTrue(index.durable.isEmpty)
        XCTAssertNil(BodyFiles.regularFileSize(object.entry.bodyPath))
    }
}
