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

    func testXCacheValueFoundAmongPreformattedLines() {
        let lines = Array("Content-Type: text/plain\r\nETag: \"x\"\r\nX-Cache: HIT\r\n".utf8)
        XCTAssertEqual(AccessLogRecord.fieldValue(Array("X-Cache: ".utf8), in: lines), "HIT")
        XCTAssertNil(AccessLogRecord.fieldValue(Array("X-Cache: ".utf8), in: Array("ETag: \"X-Cache: no\"\r\n".utf8)))
    }
}
