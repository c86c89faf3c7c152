import CapuchinServer
import CapuchinSystem
import Compression
import HTTPCore
import XCTest
@testable import FileCache

/// The per-worker memory of the variant last served for a file version and a choice.
final class RecentVariantsTests: XCTestCase {
    private func file(inode: UInt64 = 7, mtime: Int64 = 100, type: String = "text/css") -> SourcedFile {
        SourcedFile(identity: FileIdentity(device: 1, inode: inode, size: 4000, mtimeNanos: mtime, isRegular: true, isDirectory: false),
                    contentType: type, etag: "\"e\"", body: .bytes([1]))
    }

    private func variant(_ coding: ContentCoding, size: Int = 100) -> Variant {
        Variant(coding: coding, body: .bytes([UInt8](repeating: 0, count: size)), size: size, etag: "\"e-\(coding.token)\"",
                head: [], isSibling: false, fileIdentity: nil, filePath: nil)
    }

    func testChoicesHaveDistinctKeys() throws {
        let a = try XCTUnwrap(RecentVariants.key(AcceptEncoding.Choice(order: [0, 2], identityAcceptable: true)))
        let b = try XCTUnwrap(RecentVariants.key(AcceptEncoding.Choice(order: [2, 0], identityAcceptable: true)))
        let c = try XCTUnwrap(RecentVariants.key(AcceptEncoding.Choice(order: [0, 2], identityAcceptable: false)))
        let d = try XCTUnwrap(RecentVariants.key(AcceptEncoding.Choice(order: [0], identityAcceptable: true)))
        XCTAssertEqual(Set([a, b, c, d]).count, 4)
        XCTAssertNil(RecentVariants.key(AcceptEncoding.Choice(order: Array(0..<16), identityAcceptable: true)))
    }

    func testRemembersPerFileVersionTypeChoiceAndWorker() {
        let recent = RecentVariants(workers: 2, slots: 8, lifetimeNanos: 1_000)
        let br = variant(.brotli)
        recent.remember(br, for: file(), choice: 5, worker: 0, now: 10)
        XCTAssertTrue(recent.represented(file(), choice: 5, worker: 0, now: 20)?.variant === br)
        XCTAssertNil(recent.represented(file(), choice: 6, worker: 0, now: 20)?.variant, "another choice")
        XCTAssertNil(recent.represented(file(mtime: 101), choice: 5, worker: 0, now: 20)?.variant, "another version of the file")
        XCTAssertNil(recent.represented(file(type: "text/plain"), choice: 5, worker: 0, now: 20)?.variant, "another content type")
        XCTAssertNil(recent.represented(file(), choice: 5, worker: 1, now: 20)?.variant, "another worker's table")
        XCTAssertNil(recent.represented(file(), choice: 5, worker: 9, now: 20)?.variant, "a worker without a table")
        XCTAssertNil(recent.represented(file(), choice: 5, worker: 0, now: 1_010)?.variant, "past its lifetime")
        // A file in the same slot replaces it.
        let gz = variant(.gzip)
        recent.remember(gz, for: file(inode: 7 + 8 * 1_000_000), choice: 5, worker: 0, now: 30)
        let same = recent.represented(file(inode: 7 + 8 * 1_000_000), choice: 5, worker: 0, now: 40)?.variant
        XCTAssertTrue(same === gz)
    }

    func testLargeVariantsAreNotKept() {
        let recent = RecentVariants(workers: 1, slots: 4)
        recent.remember(variant(.brotli, size: RecentVariants.maxSize + 1), for: file(), choice: 1, worker: 0, now: 1)
        XCTAssertNil(recent.represented(file(), choice: 1, worker: 0, now: 2)?.variant)
    }

    func testRepresentsTheFileAsTheVariantWithOneMetadata() throws {
        let recent = RecentVariants(workers: 1, slots: 4)
        let br = variant(.brotli, size: 60)
        let source = file()
        let made = recent.remember(br, for: source, choice: 3, worker: 0, now: 1)
        let again = try XCTUnwrap(recent.represented(source, choice: 3, worker: 0, now: 2))
        XCTAssertTrue(again.variant === br)
        XCTAssertTrue(again.file.metadata === made.metadata, "a variant hit allocates no metadata of its own")
        for f in [made, again.file] {
            XCTAssertEqual(f.contentEncoding, "br")
            XCTAssertEqual(f.size, 60)
            XCTAssertEqual(f.etag, "\"e-br\"")
            XCTAssertEqual(f.identity, source.identity, "the source's identity")
            XCTAssertEqual(f.contentType, "text/css")
            guard case .bytes(let b) = f.body else { return XCTFail("the variant's body: \(f.body)") }
            XCTAssertEqual(b.count, 60)
        }
        // Not kept (too large): still represented, not remembered.
        let big = recent.remember(variant(.gzip, size: RecentVariants.maxSize + 1), for: file(inode: 9), choice: 3, worker: 0, now: 1)
        XCTAssertEqual(big.contentEncoding, "gzip")
        XCTAssertNil(recent.represented(file(inode: 9), choice: 3, worker: 0, now: 2))
    }
}
