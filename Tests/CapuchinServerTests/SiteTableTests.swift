import XCTest
@testable import CapuchinServer

final class SiteTableTests: XCTestCase {
    private func table() -> SiteTable {
        SiteTable(sites: [
            Site(names: ["main.test"], root: "/main"),
            Site(names: ["exact.example.com"], root: "/exact"),
            Site(names: ["*.example.com"], root: "/wild"),
            Site(names: ["*.deep.example.com"], root: "/deep"),
        ], defaultIndex: 0)
    }

    func testExactBeatsWildcard() {
        XCTAssertEqual(table().select(host: "exact.example.com").root, "/exact")
    }

    func testLongestWildcardWins() {
        let t = table()
        XCTAssertEqual(t.select(host: "a.example.com").root, "/wild")
        XCTAssertEqual(t.select(host: "x.y.example.com").root, "/wild")
        XCTAssertEqual(t.select(host: "a.deep.example.com").root, "/deep")
    }

    func testWildcardDoesNotMatchBareDomain() {
        XCTAssertEqual(table().select(host: "example.com").root, "/main")
    }

    func testUnknownOrMissingHostGetsDefault() {
        let t = table()
        XCTAssertEqual(t.select(host: "other.test").root, "/main")
        XCTAssertEqual(t.select(host: nil).root, "/main")
        XCTAssertEqual(t.select(host: "").root, "/main")
    }

    func testConfiguredDefaultSite() {
        let t = SiteTable(sites: [Site(names: ["a"], root: "/a"), Site(names: [], root: "/b")], defaultIndex: 1)
        XCTAssertEqual(t.select(host: "zzz").root, "/b")
        XCTAssertEqual(t.select(host: "a").root, "/a")
    }

    func testOpeningAMissingRootNamesTheSite() {
        XCTAssertThrowsError(try SiteTable.open([SiteConfig(names: [], root: "/nonexistent/capuchin-test")], file: "s.yaml")) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "sites[0].root")
        }
    }
}
