import HTTPCore
@testable import ReverseProxy
import XCTest

final class HitHeadTests: XCTestCase {
    private func stored(_ headers: [(String, String)], status: Int = 200) -> StoredResponse {
        StoredResponse(status: status, headers: HTTPHeaders(headers), requestTime: 1_700_000_000, responseTime: 1_700_000_000,
                       vary: VaryKey(responseHeaders: HTTPHeaders(headers), request: HTTPHeaders()), bodySize: 3)
    }

    private let origin: [(String, String)] = [
        ("Date", "Tue, 14 Nov 2023 22:13:20 GMT"), ("Server", "origin"), ("Content-Length", "3"),
        ("Content-Type", "text/plain"), ("Age", "7"), ("ETag", "\"v1\""), ("Via", "1.1 edge"),
        ("Accept-Ranges", "none"), ("Cache-Control", "max-age=60"), ("Connection", "keep-alive"),
    ]

    func testFieldsDropWhatTheServerOrAHitWritesAndMergeVia() {
        let head = HitHead(stored(origin), via: "1.1 me")
        XCTAssertEqual(head.contentType, "text/plain")
        // The origin's Date is passed on unchanged (RFC 9111 4); Server, Content-Length, Age, Connection are the server's.
        XCTAssertEqual(head.fields.fields.map(\.name), ["Date", "ETag", "Cache-Control", "Via"])
        XCTAssertTrue(head.carriesDate)
        XCTAssertFalse(HitHead(stored([("ETag", "\"v1\"")]), via: "1.1 me").carriesDate)
        XCTAssertEqual(head.fields["Via"], "1.1 edge, 1.1 me")
    }

    func testPlainLinesOfA200MatchTheRepresentationResponderOrder() {
        let head = HitHead(stored(origin), via: "1.1 me")
        XCTAssertEqual(String(decoding: head.plainLines, as: UTF8.self),
                       "Content-Type: text/plain\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nETag: \"v1\"\r\nCache-Control: max-age=60\r\nVia: 1.1 edge, 1.1 me\r\nAccept-Ranges: bytes\r\n")
    }

    func testPlainLinesOfOtherStatusesKeepTheStoredFields() {
        let head = HitHead(stored([("Location", "/b"), ("Content-Type", "text/html"), ("Date", "x"), ("Age", "1")], status: 301),
                           via: "1.1 me")
        XCTAssertEqual(String(decoding: head.plainLines, as: UTF8.self),
                       "Location: /b\r\nContent-Type: text/html\r\nDate: x\r\nVia: 1.1 me\r\n")
    }

    func testStoredDatesAreParsedOnceAndFollowHeaderChanges() {
        var s = stored([("Date", "Tue, 14 Nov 2023 22:13:20 GMT"), ("Age", "30"), ("Expires", "0"),
                        ("Last-Modified", "Tue, 14 Nov 2023 22:00:00 GMT")])
        XCTAssertEqual(s.dates.date, 1_700_000_000)
        XCTAssertEqual(s.dates.age, 30)
        XCTAssertEqual(s.dates.expires, .some(nil), "an invalid Expires is kept as present-but-invalid")
        XCTAssertEqual(s.dates.lastModified, 1_700_000_000 - 800)
        s.headers = HTTPHeaders([("Age", "5")])
        XCTAssertNil(s.dates.date)
        XCTAssertEqual(s.dates.age, 5)
        XCTAssertNil(s.dates.expires ?? nil)
        XCTAssertTrue(s.dates.expires == nil, "no Expires at all")
    }
}
