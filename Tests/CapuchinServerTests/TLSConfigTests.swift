import XCTest
@testable import CapuchinServer

/// `tls`, `listeners`, `redirect_https` and `hsts`: parsed values and errors naming file, line and key.
final class TLSConfigTests: XCTestCase {
    func testListenersAndCertificatesParse() throws {
        let c = try ConfigLoader.parse("""
        server:
          port: 8443
          tls: {cert: certs/site.pem, key: /keys/site.key}
          hsts: max-age=63072000
        listeners:
          - port: 8080
            redirect_https: 8443
          - listen: 127.0.0.1
            port: 9443
            tls:
              cert: other.pem
              key: other.key
        sites:
          - root: /srv
            default: true
          - names: [a.test]
            root: /srv/a
            tls: {cert: a.pem, key: a.key}
        """, file: "/etc/capuchin/c.yaml")
        XCTAssertEqual(c.listeners.map(\.port), [8443, 8080, 9443])
        XCTAssertEqual(c.listeners[0].tls, TLSFiles(certificate: "/etc/capuchin/certs/site.pem", key: "/keys/site.key", configKey: "server.tls"))
        XCTAssertNil(c.listeners[1].tls)
        XCTAssertEqual(c.listeners[1].redirectToHTTPSPort, 8443)
        XCTAssertEqual(c.listeners[2].address, "127.0.0.1")
        XCTAssertEqual(c.listeners[2].tls?.configKey, "listeners[1].tls")
        XCTAssertEqual(c.sites[1].tls?.certificate, "/etc/capuchin/a.pem")
        XCTAssertEqual(c.hsts, "max-age=63072000")
        XCTAssertTrue(c.servesTLS)
        XCTAssertEqual(c.line(of: "listeners[1].tls.cert"), 11)
    }

    func testOCSPFileResolvesAgainstTheConfigDirectory() throws {
        let c = try ConfigLoader.parse("""
        server:
          port: 8443
          tls: {cert: site.pem, key: site.key, ocsp_file: ocsp/site.der}
        sites:
          - root: /srv
            default: true
        """, file: "/etc/capuchin/c.yaml")
        XCTAssertEqual(c.listeners[0].tls?.ocsp, "/etc/capuchin/ocsp/site.der")
        XCTAssertThrowsError(try ConfigLoader.parse("server:\n  tls: {cert: a, key: b, ocsp_file: ''}\n", file: "t.yaml")) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "server.tls.ocsp_file")
        }
    }

    func testKtlsIsAutoByDefaultAndOffWhenSaid() throws {
        let on = try ConfigLoader.parse("server:\n  tls: {cert: a.pem, key: a.key}\n", file: "t.yaml")
        XCTAssertEqual(on.listeners.first?.tls?.kernelTLS, true)
        let off = try ConfigLoader.parse("server:\n  tls: {cert: a.pem, key: a.key, ktls: off}\nlisteners:\n  - port: 8444\n    tls: {cert: a.pem, key: a.key, ktls: auto}\n",
                                         file: "t.yaml")
        XCTAssertEqual(off.listeners.map { $0.tls?.kernelTLS }, [false, true])
    }

    func testErrorsNameFileLineAndKey() {
        let cases: [(String, String, Int, String)] = [
            ("server:\n  tls:\n    cert: a.pem\n", "server.tls.key", 3, "private key"),  // the tls mapping starts on line 3
            ("server:\n  tls:\n    key: a.key\n", "server.tls.cert", 3, "certificate chain"),
            ("server:\n  tls: {cert: a, key: b, ciphers: x}\n", "server.tls.ciphers", 2, "unknown key"),
            ("server:\n  tls: yes\n", "server.tls", 2, "mapping"),
            ("listeners:\n  - tls: {cert: a, key: b}\n", "listeners[0].port", 2, "needs a port"),
            ("listeners:\n  - port: 99999\n", "listeners[0].port", 2, "between"),
            ("server:\n  port: 8080\nlisteners:\n  - port: 8080\n", "listeners[0].port", 4, "already used"),
            ("listeners:\n  - port: 1\n    tls: {cert: a, key: b}\n    redirect_https: 443\n", "listeners[0].redirect_https", 4, "cannot redirect"),
            ("sites:\n  - root: /srv\n    tls: {cert: a, key: b}\n", "sites[0].tls", 3, "names"),
            ("server:\n  port: 8443\n  tls:\n    cert: a.pem\n    key: a.key\n    ktls: on\n", "server.tls.ktls", 6, "auto, off"),
            ("listeners:\n  - port: 8443\n    tls: {cert: a, key: b, ktls: 1}\n", "listeners[0].tls.ktls", 3, "auto, off"),
            // A site's certificate is chosen within a listener's connections: kernel TLS is the listener's.
            ("sites:\n  - root: /srv\n    names: [a.example]\n    tls: {cert: a, key: b, ktls: off}\n", "sites[0].tls.ktls", 4, "unknown key"),
        ]
        for (text, key, line, words) in cases {
            XCTAssertThrowsError(try ConfigLoader.parse(text, file: "t.yaml"), key) { e in
                let err = e as? ConfigError
                XCTAssertEqual(err?.file, "t.yaml", key)
                XCTAssertEqual(err?.key, key, text)
                XCTAssertEqual(err?.line, line, key)
                XCTAssertTrue(err?.message.contains(words) == true, "\(key): \(err?.message ?? "-")")
            }
        }
    }

    func testMissingCertificateFileIsAStartError() throws {
        var c = try ConfigLoader.parse("server:\n  port: 0\n  tls:\n    cert: /nonexistent/c.pem\n    key: /nonexistent/c.key\n", file: "m.yaml")
        c.sites = [SiteConfig(names: [], root: "/tmp", isDefault: true)]
        XCTAssertThrowsError(try TLSCertificateLoader.load(c)) { e in
            let err = e as? ConfigError
            XCTAssertEqual(err?.key, "server.tls")
            XCTAssertEqual(err?.line, 4)
            XCTAssertTrue(err?.message.contains("/nonexistent/c.pem") == true, err?.message ?? "-")
        }
        XCTAssertEqual(TLSCertificateLoader.problems(c).map(\.key), ["server.tls"])
    }

    func testCommandLineFlagsGoTogether() throws {
        var c = ServerConfig()
        var o = ConfigOverrides()
        o.tlsCertificate = "c.pem"
        XCTAssertThrowsError(try o.apply(to: &c)) { e in XCTAssertEqual((e as? ConfigError)?.key, "--tls-key") }
        o.tlsKey = "c.key"
        try o.apply(to: &c)
        XCTAssertEqual(c.tls?.certificate, "c.pem")
        XCTAssertEqual(c.listeners[0].tls?.key, "c.key")
    }
}
