import CapuchinServer
import CapuchinSystem
import Compression
import XCTest
@testable import FileCache

final class VariantTableTests: XCTestCase {
    private func file(inode: UInt64, size: Int = 1000, mtime: Int64 = 5) -> SourcedFile {
        let id = FileIdentity(device: 1, inode: inode, size: size, mtimeNanos: mtime, isRegular: true, isDirectory: false)
        return SourcedFile(identity: id, contentType: "text/css", etag: StaticFilePlugin.etag(id), body: .bytes([]))
    }

    private func variant(_ size: Int, _ coding: ContentCoding = .gzip) -> Variant {
        Variant(coding: coding, body: .bytes([UInt8](repeating: 1, count: size)), size: size, etag: "\"x\"", head: [],
                isSibling: false, fileIdentity: nil, filePath: nil)
    }

    func testSameVersionIsTheSameSetAndANewVersionRetiresTheOld() {
        let table = VariantTable(capacity: 100)
        let (a, r0) = table.set(site: "s", path: "/a.css", file: file(inode: 1), originPath: "/w/a.css", codings: 3)
        XCTAssertNil(r0)
        let (a2, r1) = table.set(site: "s", path: "/a.css", file: file(inode: 1), originPath: "/w/a.css", codings: 3)
        XCTAssertTrue(a === a2)
        XCTAssertNil(r1)
        XCTAssertTrue(a.claim(0))
        XCTAssertTrue(a.settle(0, .ready(variant(300))))
        XCTAssertEqual(table.bytes.held.load(ordering: .relaxed), 300)
        // renamed over (another inode): a new set, the old one handed back for retiring
        let (b, retired) = table.set(site: "s", path: "/a.css", file: file(inode: 2), originPath: "/w/a.css", codings: 3)
        XCTAssertFalse(b === a)
        XCTAssertTrue(retired === a)
        XCTAssertEqual(a.retire().count, 1)
        XCTAssertEqual(table.bytes.held.load(ordering: .relaxed), 0)
        // a compression finishing for the retired set is refused
        XCTAssertFalse(a.settle(1, .ready(variant(10))))
        XCTAssertFalse(a.claim(1))
    }

    func testClaimIsExclusiveUntilSettled() {
        let table = VariantTable(capacity: 100)
        let (s, _) = table.set(site: "s", path: "/b.js", file: file(inode: 3), originPath: "/w/b.js", codings: 3)
        XCTAssertTrue(s.claim(2))
        XCTAssertFalse(s.claim(2))
        s.settle(2, .absent)
        XCTAssertTrue(s.claim(2))
        s.settle(2, .refused)
        XCTAssertFalse(s.claim(2), "a body that does not shrink is not tried again")
    }

    func testBytesPastTheBudgetEvictOtherSets() {
        let table = VariantTable(capacity: 1000, budget: 1000)
        var sets: [VariantSet] = []
        for i in 0..<5 {
            let (s, _) = table.set(site: "s", path: "/f\(i).css", file: file(inode: UInt64(10 + i)), originPath: "/w/f\(i).css",
                                   codings: 3)
            s.settle(0, .ready(variant(400)))
            sets.append(s)
        }
        XCTAssertLessThanOrEqual(table.bytes.held.load(ordering: .relaxed), 1000 + 400)
        XCTAssertLessThan(table.count, 5)
        XCTAssertTrue(sets.contains { $0.state.withLock { $0.retired } })
    }

    func testRemoveForgetsOnlyThatFile() {
        let table = VariantTable(capacity: 100)
        _ = table.set(site: "s", path: "/x", file: file(inode: 4), originPath: "/w/x", codings: 3)
        XCTAssertNil(table.remove(site: "s", path: "/y"))
        XCTAssertNotNil(table.remove(site: "s", path: "/x"))
        XCTAssertEqual(table.count, 0)
    }
}
