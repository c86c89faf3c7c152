import XCTest
import HTTPCore
@testable import ReverseProxy

final class RequestRewriteTests: XCTestCase {
    let loopGuard = LoopGuard(nodeID: "n1", listenAddresses: [])
    let backend = BackendAddress(host: "10.0.0.9", port: 8000)

    private func builder(_ host: HostHeaderMode = .pass, trusted: [String] = []) -> UpstreamRequestBuilder {
        let ranges = trusted.map { try! AddressRange(parsing: $0, key: "k") }
        return UpstreamRequestBuilder(pool: PoolConfig(name: "p", backends: [backend], hostHeader: host, trustedProxies: ranges), loopGuard: loopGuard)
    }

    func testHopByHopAndConnectionNamedFieldsAreRemoved() {
        let r = makeRequest("POST", "/form", headers: [
            ("Host", "example.com"), ("Connection", "keep-alive, X-Secret, Upgrade"), ("X-Secret", "s"),
            ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("Trailer", "X-T"),
            ("Transfer-Encoding", "chunked"), ("Upgrade", "websocket"), ("Proxy-Authorization", "Basic eA=="),
            ("Accept", "text/html"), ("Cookie", "a=1"),
        ], framing: .chunked)
        let h = builder().headers(for: r, client: ClientInfo(address: "1.2.3.4"), backend: backend, body: .contentLength(12))
        for name in ["Connection", "X-Secret", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authorization"] {
            XCTAssertNil(h[name], name)
        }
        XCTAssertEqual(h["Accept"], "text/html")
        XCTAssertEqual(h["Cookie"], "a=1")
        XCTAssertEqual(h["Content-Length"], "12", "re-framed with the length the body is sent with")
        XCTAssertEqual(h["Via"], "1.1 capuchin-n1")
    }

    func testChunkedUpstreamBodyAndClose() {
        let r = makeRequest("PUT", "/x", headers: [("Host", "a"), ("Content-Length", "5")], framing: .contentLength(5))
        let h = builder().headers(for: r, client: ClientInfo(address: "1.2.3.4"), backend: backend, body: .chunked, closeConnection: true)
        XCTAssertNil(h["Content-Length"])
        XCTAssertEqual(h["Transfer-Encoding"], "chunked")
        XCTAssertEqual(h["Connection"], "close")
    }

    func testForwardedHeadersFromUntrustedClientsAreReplaced() {
        let r = makeRequest(headers: [("Host", "shop.example:8443"), ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"),
                                      ("X-Forwarded-Host", "evil"), ("Forwarded", "for=6.6.6.6")])
        let h = builder().headers(for: r, client: ClientInfo(address: "1.2.3.4", scheme: "http"), backend: backend, body: .none)
        XCTAssertEqual(h.values("X-Forwarded-For"), ["1.2.3.4"])
        XCTAssertEqual(h["X-Forwarded-Proto"], "http")
        XCTAssertEqual(h["X-Forwarded-Host"], "shop.example:8443")
        XCTAssertNil(h["Forwarded"])
    }

    func testOverrideFieldsFromUntrustedClientsAreDropped() {
        let spoofed: [(String, String)] = [
            ("X-Host", "evil"), ("X-Original-Host", "evil"), ("X-Forwarded-Server", "evil"), ("X-Forwarded-Scheme", "evil"),
            ("X-Forwarded-Port", "1"), ("X-Forwarded-Prefix", "/evil"), ("X-Forwarded-Ssl", "on"), ("X-Url-Scheme", "evil"),
            ("X-Original-URL", "/evil"), ("X-Rewrite-URL", "/evil"), ("X-HTTP-Method-Override", "DELETE"),
            ("X-HTTP-Method", "DELETE"), ("X-Method-Override", "DELETE"), ("X-Real-IP", "6.6.6.6"),
        ]
        let r = makeRequest(headers: [("Host", "a")] + spoofed)
        let h = builder().headers(for: r, client: ClientInfo(address: "1.2.3.4"), backend: backend, body: .none)
        for (name, _) in spoofed where name != "X-Real-IP" { XCTAssertNil(h[name], name) }
        XCTAssertEqual(h.values("X-Real-IP"), ["1.2.3.4"])
        // A trusted proxy in front of us may set them.
        let t = builder(trusted: ["1.2.3.0/24"]).headers(for: r, client: ClientInfo(address: "1.2.3.4"), backend: backend, body: .none)
        XCTAssertEqual(t["X-Original-URL"], "/evil")
        XCTAssertEqual(t["X-Real-IP"], "6.6.6.6")
    }

    func testForwardedHeadersFromTrustedProxiesAreExtended() {
        let r = makeRequest(headers: [("Host", "a"), ("X-Forwarded-For", "5.5.5.5"), ("X-Forwarded-For", "7.7.7.7"), ("X-Forwarded-Proto", "https")])
        let h = builder(trusted: ["10.0.0.0/8"]).headers(for: r, client: ClientInfo(address: "10.1.1.1"), backend: backend, body: .none)
        XCTAssertEqual(h.values("X-Forwarded-For"), ["5.5.5.5, 7.7.7.7, 10.1.1.1"])
        XCTAssertEqual(h["X-Forwarded-Proto"], "https")
    }

    func testHostHeaderModes() {
        let r = makeRequest(headers: [("Host", "www.example.com")])
        let client = ClientInfo(address: "1.1.1.1")
        XCTAssertEqual(builder(.pass).headers(for: r, client: client, backend: backend, body: .none)["Host"], "www.example.com")
        XCTAssertEqual(builder(.backend).headers(for: r, client: client, backend: backend, body: .none)["Host"], "10.0.0.9:8000")
        XCTAssertEqual(builder(.backend).headers(for: r, client: client, backend: BackendAddress(host: "app", port: 80), body: .none)["Host"], "app")
        XCTAssertEqual(builder(.fixed("int.example")).headers(for: r, client: client, backend: backend, body: .none)["Host"], "int.example")
        XCTAssertEqual(builder(.fixed("int.example")).headers(for: r, client: client, backend: backend, body: .none).values("Host").count, 1)
    }

    func testViaAppendsWithTheClientVersion() {
        let r = makeRequest(version: .http10, headers: [("Host", "a"), ("Via", "1.1 edge")])
        let h = builder().headers(for: r, client: ClientInfo(address: "1.1.1.1"), backend: backend, body: .none)
        XCTAssertEqual(h.values("Via"), ["1.1 edge, 1.0 capuchin-n1"])
    }

    func testSerializedHead() {
        let r = makeRequest("GET", "http://example.com/a/b?q=1", headers: [("Host", "example.com"), ("Accept", "*/*")])
        let head = String(decoding: builder().head(for: r, client: ClientInfo(address: "9.9.9.9"), backend: backend, body: .none), as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("GET /a/b?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"), head)
        XCTAssertTrue(head.contains("\r\nX-Forwarded-For: 9.9.9.9\r\n"))
        XCTAssertTrue(head.hasSuffix("\r\n\r\n"))
        XCTAssertEqual(UpstreamRequestBuilder.originForm("http://h"), "/")
        XCTAssertEqual(UpstreamRequestBuilder.originForm("http://h?x"), "/?x")
        XCTAssertEqual(UpstreamRequestBuilder.originForm("*"), "*")
    }
}
