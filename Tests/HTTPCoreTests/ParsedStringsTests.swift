import XCTest
@testable import HTTPCore

/// The parser makes fewer Strings than fields (a known name is a literal, the
/// host and path reuse the field's and target's String when they are the same
/// bytes): every field must still read exactly as sent.
final class ParsedStringsTests: XCTestCase {
    func testKnownAndUnknownNamesKeepTheirExactSpelling() throws {
        let names = ["Host", "User-Agent", "user-agent", "USER-AGENT", "Accept-Encoding", "accept-encoding",
                     "Accept-EncodinG", "If-None-Match", "X-Custom", "Range", "range", "Cookie"]
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        for n in names.dropFirst() { text += "\(n): v-\(n)\r\n" }
        let (r, _) = try XCTUnwrap(request(parse(text + "\r\n")))
        XCTAssertEqual(r.headers.fields.map(\.name), names)
        XCTAssertEqual(r.headers.fields.dropFirst().map(\.value), names.dropFirst().map { "v-\($0)" })
        XCTAssertEqual(r.headers["accept-encoding"], "v-Accept-Encoding")
        let (lower, _) = try XCTUnwrap(request(parse("GET / HTTP/1.1\r\nhost: a\r\n\r\n")))
        XCTAssertEqual(lower.headers.fields.map(\.name), ["host"])
        XCTAssertEqual(lower.host, "a")
    }

    func testHostIsLoweredWithoutPortAndTrailingDotWhileTheFieldStaysAsSent() throws {
        let cases: [(String, String?)] = [
            ("localhost", "localhost"), ("Example.COM", "example.com"), ("example.com:8080", "example.com"),
            ("Example.com.", "example.com"), ("[::FFFF:1]:80", "[::ffff:1]"), ("[::1]", "[::1]"), ("", nil),
        ]
        for (value, host) in cases {
            let (r, _) = try XCTUnwrap(request(parse("GET / HTTP/1.1\r\nHost: \(value)\r\n\r\n")))
            XCTAssertEqual(r.host, host, value)
            XCTAssertEqual(r.headers["Host"], value)
        }
        XCTAssertEqual(status(parse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n")), 400)
        XCTAssertEqual(status(parse("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n")), 400)
    }

    func testPathIsTheTargetOnlyWhenNothingChanges() throws {
        let cases: [(String, String, String?)] = [
            ("/a.html", "/a.html", nil), ("/a/../b.html?x=1", "/b.html", "x=1"), ("/a%20b", "/a b", nil),
            ("/a//b", "/a/b", nil), ("/q?", "/q", ""), ("/long/path/name/over/fifteen/bytes.html", "/long/path/name/over/fifteen/bytes.html", nil),
        ]
        for (target, path, query) in cases {
            let (r, _) = try XCTUnwrap(request(parse("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")))
            XCTAssertEqual(r.target, target)
            XCTAssertEqual(r.path, path, target)
            XCTAssertEqual(r.query, query, target)
        }
        let (absolute, _) = try XCTUnwrap(request(parse("GET http://Other.example/x HTTP/1.1\r\nHost: h\r\n\r\n")))
        XCTAssertEqual(absolute.host, "other.example")
        XCTAssertEqual(absolute.path, "/x")
        XCTAssertEqual(absolute.target, "http://Other.example/x")
    }
}
