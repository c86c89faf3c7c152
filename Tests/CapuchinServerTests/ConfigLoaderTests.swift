import XCTest
@testable import CapuchinServer

final class ConfigLoaderTests: XCTestCase {
    func testValidFileParsesEverySection() throws {
        let text = """
        server:
          listen: 127.0.0.1
          port: 9000
          workers: 3
          balance: fair
          keepalive_timeout: 500ms
          max_request_body: 2m
          sendfile_threshold: 16k
        sites:
          - names: [Example.com, "*.example.com"]
            root: /srv/www
            index: [index.html, index.htm]
        mime:
          .md: text/markdown
        logging:
          level: debug
          access_log: access.log
        plugins:
          cache: false
        cache:
          capacity: 10m
        """
        let c = try ConfigLoader.parse(text, file: "/etc/capuchin/c.yaml")
        XCTAssertEqual(c.listenAddress, "127.0.0.1")
        XCTAssertEqual(c.port, 9000)
        XCTAssertEqual(c.workers, 3)
        XCTAssertEqual(c.balance, .fair)
        XCTAssertEqual(c.keepaliveTimeout, 0.5, accuracy: 1e-9)
        XCTAssertEqual(c.maxRequestBody, 2 << 20)
        XCTAssertEqual(c.sendfileThreshold, 16 << 10)
        XCTAssertEqual(c.sites, [SiteConfig(names: ["example.com", "*.example.com"], root: "/srv/www", index: ["index.html", "index.htm"])])
        XCTAssertEqual(c.mimeOverrides, ["md": "text/markdown"])
        XCTAssertEqual(c.logLevel, .debug)
        XCTAssertEqual(c.accessLog, "/etc/capuchin/access.log")
        XCTAssertEqual(c.pluginSwitches, ["cache": false])
        // Plugin sections are handed over unvalidated, then checked by their plugin.
        let cache = c.section(for: "cache")
        XCTAssertEqual(try cache.size("capacity", default: 0), 10 << 20)
        XCTAssertNoThrow(try cache.finish())
    }

    func testUnknownKeyNamesFileLineAndKey() {
        let text = "server:\n  port: 80\n  keepalive_timeot: 5\n"
        XCTAssertThrowsError(try ConfigLoader.parse(text, file: "c.yaml")) { e in
            let err = e as? ConfigError
            XCTAssertEqual(err?.file, "c.yaml")
            XCTAssertEqual(err?.key, "server.keepalive_timeot")
            XCTAssertEqual(err?.line, 3)
            XCTAssertEqual(err?.description, "c.yaml:3: server.keepalive_timeot: unknown key")
        }
    }

    func testUnknownTopLevelSection() {
        XCTAssertThrowsError(try ConfigLoader.parse("sever:\n  port: 1\n", file: "x.yaml")) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "sever")
        }
    }

    func testBadValuesNameTheKey() {
        let cases: [(String, String)] = [
            ("server:\n  port: 70000\n", "server.port"),
            ("server:\n  workers: many\n", "server.workers"),
            ("server:\n  balance: random\n", "server.balance"),
            ("server:\n  header_timeout: soon\n", "server.header_timeout"),
            ("server:\n  max_request_body: 1x\n", "server.max_request_body"),
            ("logging:\n  level: loud\n", "logging.level"),
            ("sites:\n  - names: [a]\n", "sites[0].root"),
            ("sites:\n  - root: /x\n    index: [a/b]\n", "sites[0].index"),
            ("sites:\n  - root: /x\n    colour: red\n", "sites[0].colour"),
            ("plugins:\n  cache: maybe\n", "plugins.cache"),
            ("mime:\n  md: markdown\n", "mime"),
        ]
        for (text, key) in cases {
            XCTAssertThrowsError(try ConfigLoader.parse(text, file: "f.yaml"), text) { e in
                let err = e as? ConfigError
                XCTAssertEqual(err?.key, key, text)
                XCTAssertEqual(err?.file, "f.yaml")
                XCTAssertNotNil(err?.line, text)
            }
        }
    }

    func testYAMLSyntaxErrorHasLine() {
        XCTAssertThrowsError(try ConfigLoader.parse("server:\n  port: [1\n", file: "y.yaml")) { e in
            let err = e as? ConfigError
            XCTAssertEqual(err?.file, "y.yaml")
            XCTAssertNotNil(err?.line)
        }
    }

    func testPluginSectionRejectsKeysThePluginDidNotRead() throws {
        let c = try ConfigLoader.parse("admin:\n  port: 9\n  prot: 1\n", file: "p.yaml")
        let admin = c.section(for: "admin")
        XCTAssertEqual(try admin.int("port", default: 0), 9)
        XCTAssertThrowsError(try admin.finish()) { e in
            XCTAssertEqual((e as? ConfigError)?.description, "p.yaml:3: admin.prot: unknown key")
        }
    }

    func testOverridesTakePrecedence() throws {
        var c = try ConfigLoader.parse("server:\n  port: 1\n  workers: 4\n", file: "o.yaml")
        var o = ConfigOverrides()
        o.port = 2
        o.workers = 1
        o.root = "/tmp"
        o.noCache = true
        o.cacheDir = "/var/cache/x"
        o.adminPort = 9100
        try o.apply(to: &c)
        XCTAssertEqual(c.port, 2)
        XCTAssertEqual(c.workers, 1)
        XCTAssertEqual(c.sites.map(\.root), ["/tmp"])
        XCTAssertEqual(c.pluginSwitches["cache"], false)
        XCTAssertEqual(c.pluginSwitches["admin"], true)
        XCTAssertEqual(try c.section(for: "cache").string("dir", default: ""), "/var/cache/x")
        XCTAssertEqual(try c.section(for: "admin").int("port", default: 0), 9100)
    }

    func testUnknownPluginNameIsRejected() throws {
        let c = try ConfigLoader.parse("plugins:\n  gzip: true\n", file: "g.yaml")
        XCTAssertThrowsError(try PluginRegistry.instantiate([], config: c, log: ErrorLog(level: .error),
                                                            statistics: ServerStatistics(workerCount: 1, startedNanos: 0))) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "plugins.gzip")
        }
    }
}
