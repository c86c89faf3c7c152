import XCTest
@testable import HTTPCore

final class ResponseParserTests: XCTestCase {
    /// Feeds `text` in pieces of `step` bytes, then EOF; returns head, body, trailers.
    private func parse(_ text: String, method: String = "GET", step: Int = Int.max, eof: Bool = true) throws
        -> (head: HTTPResponseHead?, body: String, trailers: HTTPHeaders?, interim: [Int], parser: ResponseParser) {
        let r = ResponseCorpusTests.run(Array(text.utf8), method: method, step: step, eof: eof)
        if let error = r.error { throw ResponseParseError(error) }
        return (r.parser.head, String(decoding: r.body, as: UTF8.self), r.trailers, r.interim, r.parser)
    }

    private func assertInvalid(_ text: String, method: String = "GET", _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text, method: method), file: file, line: line) { e in
            let r = (e as? ResponseParseError)?.reason ?? "\(e)"
            XCTAssertTrue(r.contains(reason), "\(r)", file: file, line: line)
        }
    }

    func testContentLengthBodyInAnySplit() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world"
        for step in [1, 2, 7, 1000] {
            let r = try parse(text, step: step, eof: false)
            XCTAssertEqual(r.head?.status, 200)
            XCTAssertEqual(r.head?.reason, "OK")
            XCTAssertEqual(r.head?.framing, .contentLength(11))
            XCTAssertEqual(r.head?.headers["content-type"], "text/plain")
            XCTAssertEqual(r.body, "hello world", "step \(step)")
            XCTAssertNotNil(r.trailers)
            XCTAssertTrue(r.parser.isComplete)
            XCTAssertEqual(r.head?.keepAlive, true)
        }
    }

    func testChunkedBodyWithExtensionsAndTrailers() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n"
        for step in [1, 3, 1000] {
            let r = try parse(text, step: step, eof: false)
            XCTAssertEqual(r.head?.framing, .chunked)
            XCTAssertEqual(r.body, "hello world")
            XCTAssertEqual(r.trailers?["X-Checksum"], "abc")
            XCTAssertTrue(r.parser.isComplete)
        }
    }

    func testCloseDelimitedBodyEndsAtEOF() throws {
        let r = try parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", step: 4)
        XCTAssertEqual(r.head?.framing, .untilClose)
        XCTAssertEqual(r.head?.keepAlive, false)
        XCTAssertEqual(r.body, "until the end")
        XCTAssertNotNil(r.trailers)
    }

    func testNoBodyForHead204And304AndInterimResponses() throws {
        let head = try parse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method: "HEAD", eof: false)
        XCTAssertEqual(head.head?.framing, .noBody)
        XCTAssertTrue(head.parser.isComplete)
        XCTAssertEqual(head.head?.headers["Content-Length"], "1000")
        for status in [204, 304] {
            let r = try parse("HTTP/1.1 \(status) X\r\nContent-Length: 5\r\n\r\n", eof: false)
            XCTAssertEqual(r.head?.framing, .noBody)
            XCTAssertTrue(r.parser.isComplete)
        }
        let r = try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", step: 5, eof: false)
        XCTAssertEqual(r.interim, [100, 103])
        XCTAssertEqual(r.head?.status, 200)
        XCTAssertEqual(r.body, "ok")
    }

    func testConnectionPersistence() throws {
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", eof: false).head?.keepAlive, false)
        XCTAssertEqual(try parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", eof: false).head?.keepAlive, false)
        XCTAssertEqual(try parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", eof: false).head?.keepAlive, true)
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", eof: false).head?.framing, .contentLength(1))
        // Data after the end: the connection must not be reused.
        var p = ResponseParser(requestMethod: "GET")
        _ = try p.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA".utf8))
        XCTAssertTrue(p.sawExcessData)
        XCTAssertEqual(p.head?.keepAlive, false)
    }

    func testStatusLineWithoutReason() throws {
        XCTAssertEqual(try parse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", eof: false).head?.status, 404)
        XCTAssertEqual(try parse("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", eof: false).head?.reason, "")
    }

    func testMalformedResponsesAreRejected() {
        assertInvalid("HTTP/2 200 OK\r\n\r\n", "malformed status line")
        assertInvalid("HTTP/1.2 200 OK\r\n\r\n", "unsupported HTTP version")
        assertInvalid("HTTP/1.1 20 OK\r\n\r\n", "three digits")
        assertInvalid("HTTP/1.1 2000 OK\r\n\r\n", "three digits")
        assertInvalid("HTTP/1.1 700 Odd\r\n\r\n", "out of range")
        assertInvalid("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "101")
        assertInvalid("HTTP/1.1 200 OK\nContent-Length: 0\n\n", "bare LF")
        assertInvalid("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "bare CR")
        assertInvalid("HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n", "obsolete line folding")
        assertInvalid("HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", "invalid header field name")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", "invalid header field name")
        assertInvalid("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "without a colon")
        assertInvalid("HTTP/1.1 200 OK\r\nX: a\u{1}b\r\n\r\n", "control character")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "both Transfer-Encoding and Content-Length")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "conflicting Content-Length")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "invalid Content-Length")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported transfer coding")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "unsupported transfer coding")
        assertInvalid("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "missing chunk size")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n", "invalid chunk size")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", "not followed by CRLF")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "chunk size too large")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", "bare LF")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "before the body was complete")
        assertInvalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "before the body was complete")
        assertInvalid("HTTP/1.1 200 OK\r\nContent-", "inside the response head")
        assertInvalid("", "before any response")
    }

    func testHeadSizeLimit() {
        var limits = ResponseParserLimits()
        limits.maxHeadBytes = 100
        var p = ResponseParser(requestMethod: "GET", limits: limits)
        let big = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: 200) + "\r\n\r\n"
        XCTAssertThrowsError(try p.feed(Array(big.utf8)))
        var q = ResponseParser(requestMethod: "GET", limits: limits)
        XCTAssertThrowsError(try { for b in big.utf8 { _ = try q.feed([b]) } }())
    }

    func testChunkedEncoderRoundTrips() throws {
        let body = ChunkedEncoder.chunk(Array("hello".utf8)) + ChunkedEncoder.chunk([]) + ChunkedEncoder.chunk(Array(repeating: 65, count: 300)) + ChunkedEncoder.end
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + String(decoding: body, as: UTF8.self)
        let r = try parse(text, eof: false)
        XCTAssertEqual(r.body, "hello" + String(repeating: "A", count: 300))
        XCTAssertTrue(r.parser.isComplete)
    }
}
