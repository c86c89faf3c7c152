import XCTest
@testable import HTTPCore

final class RequestParserTests: XCTestCase {
    func testSimpleGet() throws {
        let text = "GET /index.html?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t\r\n\r\nBODY"
        let (r, consumed) = try XCTUnwrap(request(parse(text)))
        XCTAssertEqual(r.method, "GET")
        XCTAssertEqual(r.target, "/index.html?x=1")
        XCTAssertEqual(r.path, "/index.html")
        XCTAssertEqual(r.query, "x=1")
        XCTAssertEqual(r.version, .http11)
        XCTAssertEqual(r.host, "example.com")
        XCTAssertEqual(r.framing, .none)
        XCTAssertTrue(r.keepAlive)
        XCTAssertEqual(r.headers["user-agent"], "t")
        XCTAssertEqual(consumed, text.utf8.count - 4)
    }

    func testIncompleteAtEveryPrefix() {
        let text = Array("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n".utf8)
        for k in 0..<text.count {
            XCTAssertEqual(status(parse(Array(text[..<k]))), 0, "prefix \(k)")
        }
        guard let (r, consumed) = request(parse(text)) else { return }
        XCTAssertEqual(consumed, text.count)
        XCTAssertEqual(r.framing, .contentLength(5))
    }

    func testKeepAlive() throws {
        XCTAssertFalse(try XCTUnwrap(request(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n"))).0.keepAlive)
        XCTAssertFalse(try XCTUnwrap(request(parse("GET / HTTP/1.0\r\n\r\n"))).0.keepAlive)
        XCTAssertTrue(try XCTUnwrap(request(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))).0.keepAlive)
    }

    func testLimits() {
        var limits = ParserLimits()
        limits.maxRequestLine = 20
        XCTAssertEqual(status(parse("GET /" + String(repeating: "a", count: 30), limits: limits)), 414)
        XCTAssertEqual(status(parse("GET /" + String(repeating: "a", count: 2), limits: limits)), 0)
        limits = ParserLimits()
        limits.maxHeaderBytes = 50
        XCTAssertEqual(status(parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "b", count: 60), limits: limits)), 431)
        limits = ParserLimits()
        limits.maxHeaderCount = 3
        let many = (0..<4).map { "X\($0): v\r\n" }.joined()
        XCTAssertEqual(status(parse("GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", limits: limits)), 431)
        XCTAssertEqual(status(parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n", limits: limits)), 200)
    }

    func testStatuses() {
        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\nHost: a\n\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 200),
            ("GET /\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET /../a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET /%2e%2e/a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET /%c0%ae HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(status(parse(text)), expected, text.debugDescription)
        }
    }

    /// The word-at-a-time scan of targets and field values jumps to the first
    /// byte it must classify: a byte that stops it, at any place in a word and
    /// after any run of plain bytes, is still judged as one byte at a time would.
    func testEveryByteIsClassifiedWhereverItSitsInAWord() throws {
        for length in 1...20 {
            for at in 0..<length {
                func value(_ b: UInt8) -> [UInt8] {
                    var v = Array(repeating: UInt8(ascii: "v"), count: length)
                    v[at] = b
                    return v
                }
                func field(_ b: UInt8) -> [UInt8] {
                    Array("GET / HTTP/1.1\r\nHost: h\r\nX: a".utf8) + value(b) + Array("z\r\n\r\n".utf8)
                }
                func target(_ b: UInt8) -> [UInt8] {
                    Array("GET /".utf8) + value(b) + Array(" HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
                }
                let place = "length \(length) at \(at)"
                for bad: UInt8 in [0, 0x01, 0x0b, 0x1f, 0x7f] { XCTAssertEqual(status(parse(field(bad))), 400, place) }
                XCTAssertEqual(status(parse(field(ByteClass.lf))), 400, place)
                XCTAssertEqual(status(parse(field(ByteClass.cr))), 400, place)
                for good: UInt8 in [ByteClass.htab, 0x20, 0x7e, 0x80, 0xff] {
                    let (r, _) = try XCTUnwrap(request(parse(field(good))), place)
                    XCTAssertEqual(r.headers["X"], String(decoding: [UInt8(ascii: "a")] + value(good) + [UInt8(ascii: "z")], as: UTF8.self), place)
                }
                for bad: UInt8 in [0x00, 0x09, 0x7f, 0x80, 0xff, UInt8(ascii: "#")] {
                    XCTAssertEqual(status(parse(target(bad))), 400, place + " \(bad)")
                }
                // A space ends the target there: the rest is not a version.
                XCTAssertEqual(status(parse(target(0x20))), 400, place)
                for good in Array("!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~".utf8) where good != UInt8(ascii: "%") && good != UInt8(ascii: "?") {
                    let (r, _) = try XCTUnwrap(request(parse(target(good))), place + " \(good)")
                    XCTAssertEqual(r.target, "/" + String(decoding: value(good), as: UTF8.self), place)
                }
            }
        }
    }
}
