import XCTest
import HTTPCore
@testable import ReverseProxy

/// The client side of relaying a backend response: framing and header rewriting.
final class ClientResponseBuilderTests: XCTestCase {
    /// The final head HTTPCore's parser makes of `text`.
    private func parseHead(_ text: String) throws -> BackendResponseHead? {
        var p = ResponseParser(requestMethod: "GET")
        var head: BackendResponseHead?
        for case .head(let h) in try p.feed(Array(text.utf8)) { head = h }
        return head
    }

    func testClientResponseRewriting() throws {
        let head = try XCTUnwrap(parseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\nVia: 1.1 app\r\nETag: \"v1\"\r\n\r\n0\r\n\r\n"))
        let builder = ClientResponseBuilder(loopGuard: LoopGuard(nodeID: "n1", listenAddresses: []))
        XCTAssertEqual(ClientFraming.forRelay(of: head, clientVersion: .http11), .chunked)
        XCTAssertEqual(ClientFraming.forRelay(of: head, clientVersion: .http10), .close)
        let chunked = builder.headers(for: head, framing: .chunked)
        XCTAssertEqual(chunked.values("Transfer-Encoding"), ["chunked"])
        XCTAssertNil(chunked["X-Internal"])
        XCTAssertNil(chunked["Keep-Alive"])
        XCTAssertNil(chunked["Connection"])
        XCTAssertEqual(chunked["Via"], "1.1 app, 1.1 capuchin-n1")
        XCTAssertEqual(chunked["ETag"], "\"v1\"")
        let closing = builder.headers(for: head, framing: .close)
        XCTAssertNil(closing["Transfer-Encoding"])
        XCTAssertEqual(closing["Connection"], "close")
        let sized = builder.headers(for: head, framing: .contentLength(42))
        XCTAssertEqual(sized["Content-Length"], "42")
        XCTAssertNil(sized["Transfer-Encoding"])
        let buffered = builder.bufferedResponse(for: head, body: Array("abc".utf8))
        XCTAssertEqual(buffered.body.count, 3)
        XCTAssertNil(buffered.headers["Transfer-Encoding"])
    }
}
