import CapuchinServer
import CapuchinSystem
import HTTPCore
import XCTest
@testable import FileCache

/// The head a hit is sent with: built in one exactly sized copy, and kept
/// per worker for entries hit again.
final class HitHeadTests: XCTestCase {
    /// A rule that says every `text/` type varies and counts its calls.
    final class TextVaries: EncodingVaryRule, @unchecked Sendable {
        var calls = 0
        func varies(contentType: String, size: Int, workerID: Int) -> Bool {
            calls += 1
            return contentType.hasPrefix("text/")
        }
    }

    func testLinesAreExactlyTheHeaderFields() {
        let mtime: Int64 = 784_111_777 * 1_000_000_000
        XCTAssertEqual(String(decoding: EntryHeaders.lines(contentType: "text/css", etag: "\"1-2-3\"", mtimeNanos: mtime, xCache: true),
                              as: UTF8.self),
                       "Content-Type: text/css\r\nETag: \"1-2-3\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                           + "Accept-Ranges: bytes\r\nX-Cache: HIT\r\nCache-Status: capuchin; hit\r\n")
        XCTAssertEqual(String(decoding: EntryHeaders.lines(contentType: "text/css", etag: "", mtimeNanos: mtime, xCache: false,
                                                           contentEncoding: "br", varies: true), as: UTF8.self),
                       "Content-Type: text/css\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nAccept-Ranges: bytes\r\n"
                           + "Content-Encoding: br\r\nVary: Accept-Encoding\r\n")
        // Multi-byte and long values are copied whole.
        let long = "text/x-" + String(repeating: "é", count: 300)
        let text = String(decoding: EntryHeaders.lines(contentType: long, etag: "\"x\"", mtimeNanos: 0, xCache: false), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Content-Type: \(long)\r\nETag: \"x\"\r\nLast-Modified: Thu, 01 Jan 1970 00:00:00 GMT\r\n"))
    }

    func testWrittenDatesMatchTheFormatter() {
        for seconds in [0, 59, 86_399, 86_400, 951_782_400, 1_700_000_000, 4_102_444_800, 253_402_300_799] {
            var out: [UInt8] = [1, 2]
            HTTPDate.append(epochSeconds: seconds, to: &out)
            XCTAssertEqual(out.count, 2 + HTTPDate.length)
            XCTAssertEqual(Array(out.prefix(2)), [1, 2], "bytes before are kept")
            let text = String(decoding: out.dropFirst(2), as: UTF8.self)
            XCTAssertEqual(HTTPDate.parse(text), seconds, text)
        }
        XCTAssertEqual(HTTPDate.format(epochSeconds: 784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    func testRecentHeadsBuildOncePerEntryAndWorker() throws {
        let dir = TempDir()
        let css = dir.write("a.css", "body{}")
        let png = dir.write("b.png", "not really")
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.css", file: try makeCandidate(css, contentType: "text/css"), worker: 0)
        _ = cache.admit(site: "s", path: "/b.png", file: try makeCandidate(png, contentType: "image/png"), worker: 0)
        let a = try XCTUnwrap(cache.lookup(site: "s", path: "/a.css", worker: 0))
        let b = try XCTUnwrap(cache.lookup(site: "s", path: "/b.png", worker: 0))
        let heads = RecentHeads(workers: 2, slots: 1) // one slot: every entry competes for it
        let rule = TextVaries()

        let first = heads.hit(of: a, rule: rule, worker: 0)
        XCTAssertTrue(first.variesByEncoding)
        XCTAssertEqual(first.head, a.headerBytes(varies: true))
        XCTAssertTrue(heads.hit(of: a, rule: rule, worker: 0) === first, "a second hit is handed the same metadata")
        XCTAssertEqual(rule.calls, 1, "a second hit reuses the head and the rule's answer")

        // Another entry in the slot gets its own head, and the first is built again after.
        let other = heads.hit(of: b, rule: rule, worker: 0)
        XCTAssertFalse(other.variesByEncoding)
        XCTAssertEqual(other.head, b.headerBytes(varies: false))
        XCTAssertEqual(heads.hit(of: a, rule: rule, worker: 0).head, first.head)
        XCTAssertEqual(rule.calls, 3)

        // Workers keep their own tables; a worker without one builds each time.
        XCTAssertEqual(heads.hit(of: a, rule: rule, worker: 1).head, first.head)
        XCTAssertEqual(rule.calls, 4)
        XCTAssertEqual(heads.hit(of: a, rule: rule, worker: 7).head, first.head)
        XCTAssertEqual(heads.hit(of: a, rule: rule, worker: 7).head, first.head)
        XCTAssertEqual(rule.calls, 6)

        // Another rule (or none) is asked again: the answer is kept per rule.
        XCTAssertEqual(heads.hit(of: a, rule: nil, worker: 0).head, a.headerBytes(varies: false))
        XCTAssertEqual(heads.hit(of: a, rule: TextVaries(), worker: 0).head, first.head)
    }

    func testAReplacedEntryGetsItsOwnHead() throws {
        let dir = TempDir()
        let p = dir.write("a.css", "body{}")
        dir.setMtime("a.css", seconds: 784_111_777)
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.css", file: try makeCandidate(p, contentType: "text/css"), worker: 0)
        let heads = RecentHeads(workers: 1)
        let old = try XCTUnwrap(cache.lookup(site: "s", path: "/a.css", worker: 0))
        let oldHead = heads.hit(of: old, rule: nil, worker: 0).head
        dir.write("a.css", "body{color:red}")
        dir.setMtime("a.css", seconds: 900_000_000)
        _ = cache.admit(site: "s", path: "/a.css", file: try makeCandidate(p, contentType: "text/css"), worker: 0)
        let new = try XCTUnwrap(cache.lookup(site: "s", path: "/a.css", worker: 0))
        XCTAssertFalse(new === old)
        let newHead = heads.hit(of: new, rule: nil, worker: 0).head
        XCTAssertNotEqual(newHead, oldHead)
        XCTAssertEqual(newHead, new.headerBytes())
    }
}
