import XCTest
@testable import HTTPCore

final class ResponseHelpersTests: XCTestCase {
    func testStatusLine() {
        XCTAssertEqual(String(decoding: HTTPStatus.statusLine(404), as: UTF8.self), "HTTP/1.1 404 Not Found\r\n")
        XCTAssertEqual(HTTPStatus.reasonPhrase(416), "Range Not Satisfiable")
        XCTAssertEqual(HTTPStatus.reasonPhrase(799), "Unknown")
    }

    func testResponseHead() throws {
        let head = try HeadSerializer.response(status: 206, headers: HTTPHeaders([("Content-Range", "bytes 0-1/2"), ("X", "")]))
        XCTAssertEqual(String(decoding: head, as: UTF8.self), "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/2\r\nX: \r\n\r\n")
        XCTAssertThrowsError(try HeadSerializer.response(status: 302, headers: HTTPHeaders([("Location", "/a\r\nSet-Cookie: x")])))
        XCTAssertThrowsError(try HeadSerializer.response(status: 200, headers: HTTPHeaders([("Bad Name", "v")])))
        let open = try HeadSerializer.response(status: 200, headers: HTTPHeaders(), version: .http10, terminate: false)
        XCTAssertEqual(String(decoding: open, as: UTF8.self), "HTTP/1.0 200 OK\r\n")
    }

    func testHeadSerializerUncheckedForParsedFields() {
        let head = HeadSerializer.serialize(startLine: "GET /a HTTP/1.1", headers: HTTPHeaders([("Host", "b"), ("X-Empty", "")]))
        XCTAssertEqual(String(decoding: head, as: UTF8.self), "GET /a HTTP/1.1\r\nHost: b\r\nX-Empty: \r\n\r\n")
        var out: [UInt8] = []
        HeadSerializer.appendField(name: "Server", value: "capuchin", to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "Server: capuchin\r\n")
        XCTAssertThrowsError(try HeadSerializer.appendCheckedField(name: "X", value: "a\u{0}b", to: &out))
        XCTAssertEqual(out.count, 18, "a refused field writes nothing")
    }

    func testMultipartLayout() {
        let m = MultipartByteranges(boundary: "B")
        let (heads, length) = m.layout(ranges: [0...1, 5...9], totalLength: 10, contentType: "text/plain")
        let source = Array("0123456789".utf8)
        var body: [UInt8] = []
        body += heads[0] + source[0...1] + heads[1] + source[5...9] + m.closing
        XCTAssertEqual(body.count, length)
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01" +
                       "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/10\r\n\r\n56789\r\n--B--\r\n")
        XCTAssertEqual(m.contentType, "multipart/byteranges; boundary=B")
        var rng = SystemRandomNumberGenerator()
        let b = MultipartByteranges.makeBoundary(using: &rng)
        XCTAssertEqual(b.count, 24)
        XCTAssertTrue(b.allSatisfy { $0.isHexDigit })
    }

    func testMIMETypes() {
        XCTAssertEqual(MIMETypes.type(forPath: "/a/b.HTML"), "text/html; charset=utf-8")
        XCTAssertEqual(MIMETypes.type(forPath: "/a/b.woff2"), "font/woff2")
        XCTAssertEqual(MIMETypes.type(forPath: "/a.dir/b"), "application/octet-stream")
        XCTAssertEqual(MIMETypes.type(forPath: "/a/.hidden"), "application/octet-stream")
        XCTAssertEqual(MIMETypes.type(forPath: "/a/b."), "application/octet-stream")
        let custom = MIMETypes(overrides: ["JS": "application/javascript", "foo": "x/foo"])
        XCTAssertEqual(custom.contentType(forPath: "/x.js"), "application/javascript")
        XCTAssertEqual(custom.contentType(forPath: "/x.foo"), "x/foo")
        XCTAssertEqual(custom.contentType(forPath: "/x.png"), "image/png")
    }
}
