import XCTest
@testable import CapuchinServer

final class ConfigDiagnosticsTests: XCTestCase {
    private let broken = """
    server:
      port: 99999
      workers: many
      user: www-data
      colour: blue
    sites:
      - root: /srv/a
        access_log: /var/log/a.log
      - names: [b]
    logging:
      access_log_format: xml
    mime:
      md: nonsense
    """

    func testCollectingRecordsEveryErrorWithItsLine() throws {
        let report = ConfigDiagnostics(collecting: true)
        let c = try ConfigLoader.parse(broken, file: "c.yaml", diagnostics: report)
        XCTAssertEqual(report.errors.map(\.description), [
            "c.yaml:2: server.port: must be between 0 and 65535, got 99999",
            "c.yaml:3: server.workers: expected an integer",
            "c.yaml:5: server.colour: unknown key",
            "c.yaml:9: sites[1].root: every site needs a root directory",
            // In the order the loader reads the sections (`capuchin check` sorts by line).
            "c.yaml:12: mime: entry 'md: nonsense' needs an extension and a type/subtype",
            "c.yaml:11: logging.access_log_format: expected one of combined, json, got 'xml'",
        ])
        // Good values next to bad ones are still read.
        XCTAssertEqual(c.user, "www-data")
        XCTAssertEqual(c.sites.first?.accessLog, "/var/log/a.log")
        XCTAssertEqual(c.line(of: "sites[0].root"), 7)
        XCTAssertEqual(c.line(of: "server.user"), 4)
    }

    func testWithoutCollectingTheFirstErrorIsThrown() {
        XCTAssertThrowsError(try ConfigLoader.parse(broken, file: "c.yaml")) { e in
            XCTAssertEqual((e as? ConfigError)?.description, "c.yaml:2: server.port: must be between 0 and 65535, got 99999")
        }
    }

    func testServiceKeysParse() throws {
        let c = try ConfigLoader.parse("""
        server:
          user: nobody
          group: nogroup
        sites:
          - root: /srv
            access_log: site.log
        logging:
          access_log_format: json
        """, file: "/etc/capuchin/c.yaml")
        XCTAssertEqual(c.user, "nobody")
        XCTAssertEqual(c.group, "nogroup")
        XCTAssertEqual(c.accessLogFormat, .json)
        XCTAssertEqual(c.sites.first?.accessLog, "/etc/capuchin/site.log")
    }

    func testGroupWithoutUserIsAnError() {
        XCTAssertThrowsError(try ConfigLoader.parse("server:\n  group: staff\n", file: "c.yaml")) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "server.group")
            XCTAssertEqual((e as? ConfigError)?.line, 2)
        }
    }
}
