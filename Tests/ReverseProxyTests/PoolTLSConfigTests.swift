import CapuchinServer
import XCTest
@testable import ReverseProxy

/// A pool's `tls`, `ca_file` and `tls_verify`: the client context is built while
/// the configuration is read, so a bad CA file is an error naming its key.
final class PoolTLSConfigTests: XCTestCase {
    private func parse(_ pool: String) throws -> ProxyConfig {
        let text = "sites:\n  - {root: /tmp, default: true}\nproxy:\n  routes:\n    - {match: '^/', pool: p}\n  pools:\n    p:\n      backends: [origin.test:443]\n" + pool
        let server = try ConfigLoader.parse(text, file: "tls.yaml")
        return try ProxyConfig.parse(server.section(for: "proxy"), defaultNodeID: "host")
    }

    func testTLSPoolGetsAVerifyingContext() throws {
        let c = try parse("      tls: true\n")
        let tls = try XCTUnwrap(c.pools["p"]?.tls)
        XCTAssertTrue(tls.verifies)
        XCTAssertNil(try parse("").pools["p"]?.tls)
        XCTAssertEqual(try parse("      tls: true\n      tls_verify: false\n").pools["p"]?.tls?.verifies, false)
    }

    func testErrorsNameTheKey() {
        for (text, key, words) in [("      tls: true\n      ca_file: /nonexistent/ca.pem\n", "proxy.pools.p.ca_file", "/nonexistent/ca.pem"),
                                   ("      ca_file: /etc/ssl/certs/ca-certificates.crt\n", "proxy.pools.p.ca_file", "only used with tls"),
                                   ("      tls_verify: false\n", "proxy.pools.p.tls_verify", "only used with tls")] {
            XCTAssertThrowsError(try parse(text), key) { e in
                let err = e as? ConfigError
                XCTAssertEqual(err?.key, key, "\(e)")
                XCTAssertEqual(err?.file, "tls.yaml")
                XCTAssertNotNil(err?.line)
                XCTAssertTrue(err?.message.contains(words) == true, err?.message ?? "-")
            }
        }
    }
}
