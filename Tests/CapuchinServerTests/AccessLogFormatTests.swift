import Foundation
import XCTest
@testable import CapuchinServer

final class AccessLogFormatTests: XCTestCase {
    private func record() -> AccessLogRecord {
        var r = AccessLogRecord(badRequestFrom: "10.0.0.1", status: 200, bytes: 1234, wallMillis: 1_700_000_000_042)
        r.method = "GET"
        r.target = "/a \"b\"\\c\u{1}.txt"
        r.version = "HTTP/1.1"
        r.durationMicros = 87
        r.cache = "HIT"
        r.userAgent = "curl/8"
        return r
    }

    func testJSONLineParsesWithEveryField() throws {
        var f = AccessLogFormatter(format: .json)
        var out: [UInt8] = []
        f.append(record(), commonLogStamp: [], to: &out)
        XCTAssertEqual(out.last, 10)
        XCTAssertEqual(out.filter { $0 == 10 }.count, 1)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        XCTAssertEqual(Set(obj.keys), ["time", "client", "method", "target", "status", "bytes", "duration_us", "cache", "upstream"])
        XCTAssertEqual(obj["time"] as? String, "2023-11-14T22:13:20.042Z")
        XCTAssertEqual(obj["client"] as? String, "10.0.0.1")
        XCTAssertEqual(obj["target"] as? String, "/a \"b\"\\c\u{1}.txt")   // escaped, and parses back
        XCTAssertEqual(obj["status"] as? Int, 200)
        XCTAssertEqual(obj["bytes"] as? Int, 1234)
        XCTAssertEqual(obj["duration_us"] as? Int, 87)
        XCTAssertEqual(obj["cache"] as? String, "HIT")
        XCTAssertTrue(obj["upstream"] is NSNull)
    }

    func testUnparsedRequestHasNullMethodAndTarget() throws {
        var f = AccessLogFormatter(format: .json)
        var out: [UInt8] = []
        f.append(AccessLogRecord(badRequestFrom: "::1", status: 400, bytes: 11, wallMillis: 0), commonLogStamp: [], to: &out)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        XCTAssertTrue(obj["method"] is NSNull)
        XCTAssertTrue(obj["target"] is NSNull)
        XCTAssertEqual(obj["status"] as? Int, 400)
        XCTAssertEqual(obj["time"] as? String, "1970-01-01T00:00:00.000Z")
    }

    func testCombinedLineEscapesQuotesAndControlBytes() {
        var f = AccessLogFormatter(format: .combined)
        var out: [UInt8] = []
        f.append(record(), commonLogStamp: Array("[14/Nov/2023:22:13:20 +0000]".utf8), to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET /a \\x22b\\x22\\x5Cc\\x01.txt HTTP/1.1\" 200 1234 \"-\" \"curl/8\"\n")
    }

    /// The eight-bytes-at-a-time scan agrees with the byte rule for every byte
    /// at every position of a word and of the tail, beside any other byte.
    func testEscapeScanFindsEveryByteAnywhere() {
        func byteRule(_ b: [UInt8]) -> Bool { b.contains { $0 < 0x20 || $0 == 0x7f || $0 == 0x22 || $0 == 0x5c } }
        var checked = 0
        for length in [1, 7, 8, 9, 16, 21] {
            for position in 0..<length {
                for byte in 0...255 {
                    // A plain background, and one with high (UTF-8) bytes around the byte.
                    for fill: UInt8 in [UInt8(ascii: "a"), 0xC3] {
                        var b = [UInt8](repeating: fill, count: length)
                        b[position] = UInt8(byte)
                        let found = b.withUnsafeBufferPointer { AccessLogFormatter.anyNeedsEscape($0) }
                        XCTAssertEqual(found, byteRule(b), "byte \(byte) at \(position) of \(length), fill \(fill)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, (1 + 7 + 8 + 9 + 16 + 21) * 256 * 2)
        XCTAssertFalse([UInt8]().withUnsafeBufferPointer { AccessLogFormatter.anyNeedsEscape($0) })
    }

    func testXCacheValueFoundAmongPreformattedLines() {
        let lines = Array("Content-Type: text/plain\r\nETag: \"x\"\r\nX-Cache: HIT\r\n".utf8)
        XCTAssertEqual(AccessLogRecord.fieldValue(Array("X-Cache: ".utf8), in: lines), "HIT")
        XCTAssertNil(AccessLogRecord.fieldValue(Array("X-Cache: ".utf8), in: Array("ETag: \"X-Cache: no\"\r\n".utf8)))
    }
}
