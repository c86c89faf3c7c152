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

    /// Field values are made as String(decoding:) makes them: ASCII as sent, and
    /// obs-text that is not UTF-8 replaced by U+FFFD, short (in-place) or long.
    func testValuesReadAsUTF8DecodingMakesThem() throws {
        let values: [[UInt8]] = [
            Array("text/html".utf8), Array("exactly-15-bytes".utf8.prefix(15)), Array("sixteen-bytes-ok".utf8),
            Array("caf\u{e9}".utf8), [0x61, 0xff, 0x62], [0x61, 0xc3], Array(repeating: 0xe9, count: 20),
            Array("a value long enough to be a heap string \u{2603}".utf8) + [0x80, 0x7e], [],
        ]
        for v in values {
            let head = Array("GET / HTTP/1.1\r\nHost: h\r\nX-V: ".utf8) + v + Array("\r\n\r\n".utf8)
            let (r, _) = try XCTUnwrap(request(parse(head)))
            let expected = String(decoding: v, as: UTF8.self)
            XCTAssertEqual(r.headers["X-V"], expected, "\(v)")
            XCTAssertEqual(r.headers["X-V"]?.utf8.count, expected.utf8.count)
        }
    }
}
