import XCTest
@testable import HTTPCore

final class ChunkedDecoderTests: XCTestCase {
    /// Decodes `text` fed in pieces of `step` bytes; returns body, consumed, decoder.
    private func decode(_ text: String, step: Int = 1 << 20, limits: ChunkedLimits = ChunkedLimits()) throws -> ([UInt8], Int, ChunkedDecoder) {
        let bytes = Array(text.utf8)
        var decoder = ChunkedDecoder(limits: limits)
        var body: [UInt8] = []
        var offset = 0
        while offset < bytes.count, !decoder.isComplete {
            let end = min(bytes.count, offset + step)
            let used = try bytes[offset..<end].withUnsafeBytes { try decoder.decode($0) { body.append(contentsOf: $0) } }
            offset += used
            if used < end - (offset - used) { break }
        }
        return (body, offset, decoder)
    }

    func testDecodesAcrossEverySplit() throws {
        let text = "4;name=\"v\\\"x\"\r\nWiki\r\n5 ; a=b\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT"
        for step in [1, 2, 3, 7, 1000] {
            let (body, consumed, decoder) = try decode(text, step: step)
            XCTAssertEqual(String(decoding: body, as: UTF8.self), "Wikipedia in\r\n\r\nchunks.", "step \(step)")
            XCTAssertTrue(decoder.isComplete)
            XCTAssertEqual(consumed, text.utf8.count - 4)
            XCTAssertEqual(decoder.trailers["x-t"], "1")
            XCTAssertEqual(decoder.bodyBytes, 23)
        }
    }

    func testIncompleteIsNotComplete() throws {
        let (_, _, decoder) = try decode("5\r\nabc")
        XCTAssertFalse(decoder.isComplete)
    }

    func testRejectsBadFraming() {
        let bad: [(String, Int)] = [
            ("x\r\n", 400), ("-1\r\n", 400), ("+1\r\na\r\n0\r\n\r\n", 400), ("1\na\r\n0\r\n\r\n", 400),
            ("1\r\nab\r\n", 400), ("1\r\na\n0\r\n\r\n", 400), ("1;\r\na\r\n", 400), ("1;a=\"x\r\n", 400),
            ("1 \r\na\r\n0\r\n\r\n", 400), ("1 ;a\r\nb\r\n0\r\n\r\n", 200), ("1;a \r\nb\r\n0\r\n\r\n", 400), ("0\r\nX : y\r\n\r\n", 400), ("0\r\n folded\r\n\r\n", 400),
            ("0\r\nX: y\n\r\n", 400), ("fffffffffffffffffff\r\n", 400), ("0\r\nX: a\u{0}b\r\n\r\n", 400),
            ("0\r\nContent-Length: 5\r\n\r\n", 400), ("0\r\ntransfer-encoding: chunked\r\n\r\n", 400),
            ("5\rhello", 400), ("5\u{1}", 400), (";\r\n", 400), ("0\r\nX: y\rz", 400),
        ]
        for (text, expected) in bad {
            do {
                _ = try decode(text)
                XCTAssertEqual(expected, 200, text.debugDescription)
            } catch let e as HTTPParseError {
                XCTAssertEqual(e.status, expected, text.debugDescription)
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    func testLimits() {
        var limits = ChunkedLimits()
        limits.maxBodyBytes = 4
        XCTAssertThrowsError(try decode("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", limits: limits)) {
            XCTAssertEqual(($0 as? HTTPParseError)?.status, 413)
        }
        limits = ChunkedLimits()
        limits.maxTrailerBytes = 10
        XCTAssertThrowsError(try decode("0\r\nX: 0123456789\r\n\r\n", limits: limits)) {
            XCTAssertEqual(($0 as? HTTPParseError)?.status, 431)
        }
    }

    func testChunkSizeLimitAndReasons() throws {
        var limits = ChunkedLimits()
        limits.maxChunkSize = 15
        XCTAssertEqual(String(decoding: try decode("f\r\n0123456789abcde\r\n0\r\n\r\n", limits: limits).0, as: UTF8.self), "0123456789abcde")
        for (text, reason) in [("10\r\n", "chunk size too large"), ("zz\r\n", "missing chunk size"),
                               ("5x\r\nhello\r\n", "invalid chunk size"), ("5;\r\nhello\r\n", "invalid chunk extension")] {
            XCTAssertThrowsError(try decode(text, limits: limits), text.debugDescription) {
                XCTAssertEqual($0 as? HTTPParseError, HTTPParseError(status: 400, reason: reason), text.debugDescription)
            }
        }
    }
}
