import CapuchinSystem
import Foundation
import Glibc
import XCTest
@testable import CapuchinServer
import TestSupport

/// The last page of a mapping of a file written in the last two seconds is
/// written on its own, after the file is seen to be the version mapped: a
/// truncation into that page reads as zeros past the new end (no fault), so a
/// body finished from it would be a whole 200 with wrong bytes.
final class OutputQueueMappedTailTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var path: String { scratch.url.appendingPathComponent("body.bin").path }
    private let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 % 251) }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-oq-tail") }

    override func tearDown() { scratch = nil }

    /// A mapping of a 10,000-byte file (its last page starts at 8,192) with its
    /// path and version; `age`: seconds since it was written.
    private func mapped(age: Double = 0) throws -> MappedFile {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if age > 0 {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path)
        }
        let file = try OpenFile(path: path)
        return try MappedFile(fd: file.descriptor, count: bytes.count, source: (path, try file.identity()))
    }

    func testTheLastPageIsWrittenOnItsOwnWhenTheFileIsUnchanged() throws {
        let m = try XCTUnwrap(try mapped())
        XCTAssertEqual(m.guardedTailStart, 8_192)
        let head = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        var queue = OutputQueue()
        queue.appendBytes(head)
        queue.append(.mapped(m, offset: 0, count: bytes.count))
        var transport = MemoryTransport()
        XCTAssertEqual(try queue.flush(to: &transport), .done)
        XCTAssertEqual(transport.chunks.map(\.count), [head.count + 8_192, 1_808])
        XCTAssertTrue(transport.chunks.flatMap { $0 } == head + bytes)
    }

    func testATruncationIntoTheLastPageStopsTheSendBeforeIt() throws {
        let m = try XCTUnwrap(try mapped())
        var queue = OutputQueue()
        queue.append(.mapped(m, offset: 100, count: bytes.count - 100))
        XCTAssertEqual(truncate(path, 9_000), 0)
        var transport = MemoryTransport()
        XCTAssertThrowsError(try queue.flush(to: &transport))
        let sent = transport.chunks.flatMap { $0 }
        XCTAssertEqual(sent.count, 8_192 - 100, "what preceded the last page, then nothing")
        XCTAssertTrue(sent == Array(bytes[100..<8_192]))
    }

    /// A file unchanged for a minute is sent in one write, unchecked.
    func testAFileUnchangedForAMinuteIsNotSplit() throws {
        let m = try XCTUnwrap(try mapped(age: 60))
        XCTAssertNil(m.guardedTailStart)
        XCTAssertEqual(try writeSizes(m), [bytes.count])
    }

    /// Bytes of other kinds (a slab copy: no path behind it) are not split.
    func testAnAnonymousCopyIsNotSplit() throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try OpenFile(path: path)
        let copy = try withExtendedLifetime(file) { try MappedFile(snapshotOf: file.descriptor, count: bytes.count) }
        XCTAssertNil(copy.guardedTailStart)
        XCTAssertEqual(try writeSizes(copy), [bytes.count])
    }

    /// The sizes of the writes that send all of `m`.
    private func writeSizes(_ m: MappedFile) throws -> [Int] {
        var queue = OutputQueue()
        queue.append(.mapped(m, offset: 0, count: m.count))
        var transport = MemoryTransport()
        XCTAssertEqual(try queue.flush(to: &transport), .done)
        return transport.chunks.map(\.count)
    }
}
