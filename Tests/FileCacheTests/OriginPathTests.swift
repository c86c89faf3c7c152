import CapuchinServer
import CapuchinSystem
import XCTest
@testable import FileCache

/// An entry's origin path kept as a shared head plus the key's last bytes, and
/// the entity tag derived from the identity.
final class OriginPathTests: XCTestCase {
    func testThePathIsRebuiltFromTheSharedHeadAndTheKey() {
        let cases: [(path: String, key: String, head: String)] = [
            ("/srv/www/a/b.html", "example.com/a/b.html", "/srv/www"),
            ("/srv/www/dir/index.html", "example.com/dir/", "/srv/www/dir/index.html"),
            ("/srv/www/x", "s/x", "/srv/www"),
            ("", "s/x", ""),
            ("/srv/www/a", "", "/srv/www/a"),
            // Same last byte (0xA9) of two different characters: the split does
            // not cut "ǩ" (C7 A9) in two.
            ("/root/\u{01E9}", "s/\u{00E9}", "/root/\u{01E9}"),
            ("/root/caf\u{00E9}", "s/caf\u{00E9}", "/root"),
        ]
        for c in cases {
            let o = OriginPath.split(c.path, key: c.key)
            XCTAssertEqual(o.head.value, c.head, c.path)
            var key = c.key
            let joined = key.withUTF8 { OriginPath.join(head: o.head.value, shared: o.shared, key: UnsafeRawBufferPointer($0)) }
            XCTAssertEqual(joined, c.path, c.path)
            let inC = key.withUTF8 { k in
                OriginPath.withCString(head: o.head.value, shared: o.shared, key: UnsafeRawBufferPointer(k)) { String(cString: $0) }
            }
            XCTAssertEqual(inC, c.path, "NUL-terminated: \(c.path)")
        }
    }

    func testEntriesOfOneRootShareOneHead() {
        let a = OriginPath.split("/srv/a-long-document-root/x/1.txt", key: "site/x/1.txt")
        let b = OriginPath.split("/srv/a-long-document-root/y/2.txt", key: "site/y/2.txt")
        XCTAssertTrue(a.head === b.head, "one box for the root")
        var ha = a.head.value, hb = b.head.value
        let same = ha.withUTF8 { p in hb.withUTF8 { q in p.baseAddress == q.baseAddress } }
        XCTAssertTrue(same, "one copy of the root's bytes")
    }

    func testTheEntityTagIsInodeSizeAndMtimeInHex() throws {
        let id = FileIdentity(device: 1, inode: 0x1f, size: 20_000, mtimeNanos: 0x17e2_b3c4_d5e6_f7a8, isRegular: true, isDirectory: false)
        XCTAssertEqual(StaticFilePlugin.etag(id), "\"1f-4e20-17e2b3c4d5e6f7a8\"")
        let zero = FileIdentity(device: 0, inode: 0, size: 0, mtimeNanos: -1, isRegular: true, isDirectory: false)
        XCTAssertEqual(StaticFilePlugin.etag(zero), "\"0-0-ffffffffffffffff\"")
        let entry = CacheEntry(key: "s/a", originPath: "/r/a", identity: id, marksHits: false, contentType: "text/plain",
                               mapping: nil, insertedAtNanos: 0, accessCount: 0, checkedAtNanos: 0, lastAccessNanos: 0)
        XCTAssertEqual(entry.etag, StaticFilePlugin.etag(id))
        XCTAssertEqual(entry.originPath, "/r/a")
        XCTAssertEqual(entry.key, "s/a")
        XCTAssertTrue(entry.hasKey("s/a"))
        XCTAssertFalse(entry.hasKey("s/ab"))
        XCTAssertTrue(entry.keyStarts(with: "s/"))
        XCTAssertFalse(entry.keyStarts(with: "s/b"))
        XCTAssertTrue(entry.matches(site: "s", path: "/a"))
        XCTAssertEqual(entry.withMapping(MappedFile(slot: try XCTUnwrap(SlabAllocator(largest: 20_000).allocate(20_000)), offset: 0, count: 20_000)).key, "s/a")
        XCTAssertEqual(entry.hash, CacheKey.hash(site: "s", path: "/a"), "the key's hash is the split key's")
        XCTAssertTrue(String(decoding: entry.headerBytes(), as: UTF8.self).contains("ETag: \"1f-4e20-17e2b3c4d5e6f7a8\"\r\n"))
    }
}
