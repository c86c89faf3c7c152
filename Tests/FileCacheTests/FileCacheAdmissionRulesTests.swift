import XCTest
@testable import FileCache

final class FileCacheAdmissionRulesTests: XCTestCase {
    func testSizeLimits() {
        let r = FileCacheAdmissionRules(testConfig { $0.minFileSize = 10; $0.maxFileSize = 100 })
        XCTAssertEqual(r.check(path: "/a.txt", filePath: "/a.txt", size: 9, contentType: "text/plain"), .tooSmall)
        XCTAssertNil(r.check(path: "/a.txt", filePath: "/a.txt", size: 10, contentType: "text/plain"))
        XCTAssertNil(r.check(path: "/a.txt", filePath: "/a.txt", size: 100, contentType: "text/plain"))
        XCTAssertEqual(r.check(path: "/a.txt", filePath: "/a.txt", size: 101, contentType: "text/plain"), .tooLarge)
    }

    func testExtensions() {
        let inc = FileCacheAdmissionRules(testConfig { $0.includeExtensions = [".CSS", "js"] })
        XCTAssertNil(inc.check(path: "/s/a.css", filePath: "/s/a.css", size: 1, contentType: "text/css"))
        XCTAssertNil(inc.check(path: "/s/A.JS", filePath: "/s/A.JS", size: 1, contentType: "text/javascript"))
        XCTAssertEqual(inc.check(path: "/s/a.html", filePath: "/s/a.html", size: 1, contentType: "text/html"), .extensionNotIncluded)
        XCTAssertEqual(inc.check(path: "/s.css/noext", filePath: "/s.css/noext", size: 1, contentType: "text/plain"), .extensionNotIncluded)
        XCTAssertNil(inc.check(path: "/docs/", filePath: "/srv/docs/index.css", size: 1, contentType: "text/css"),
                     "a directory's index file is judged by its own name")
        let exc = FileCacheAdmissionRules(testConfig { $0.excludeExtensions = ["php"] })
        XCTAssertEqual(exc.check(path: "/x.php", filePath: "/x.php", size: 1, contentType: "text/plain"), .extensionExcluded)
        XCTAssertNil(exc.check(path: "/x.phps", filePath: "/x.phps", size: 1, contentType: "text/plain"))
        XCTAssertNil(exc.check(path: "/.php", filePath: "/.php", size: 1, contentType: "text/plain"), "a dot file has no extension")
    }

    func testTypes() {
        let r = FileCacheAdmissionRules(testConfig { $0.includeTypes = ["image/", "text/css"] })
        XCTAssertNil(r.check(path: "/a.png", filePath: "/a.png", size: 1, contentType: "image/png"))
        XCTAssertNil(r.check(path: "/a.css", filePath: "/a.css", size: 1, contentType: "Text/CSS; charset=utf-8"))
        XCTAssertEqual(r.check(path: "/a.html", filePath: "/a.html", size: 1, contentType: "text/html"), .typeNotIncluded)
    }

    func testGlobs() {
        let r = FileCacheAdmissionRules(testConfig {
            $0.includeGlobs = [GlobPattern("/static/**")]
            $0.excludeGlobs = [GlobPattern("*.map")]
        })
        XCTAssertNil(r.check(path: "/static/js/a.js", filePath: "/static/js/a.js", size: 1, contentType: "text/javascript"))
        XCTAssertEqual(r.check(path: "/index.html", filePath: "/index.html", size: 1, contentType: "text/html"), .globNotIncluded)
        XCTAssertEqual(r.check(path: "/static/js/a.js.map", filePath: "/static/js/a.js.map", size: 1, contentType: "application/json"), .globExcluded)
    }

    func testDisabled() {
        XCTAssertEqual(FileCacheAdmissionRules(testConfig { $0.enabled = false }).check(path: "/a", filePath: "/a", size: 1, contentType: "x/y"), .disabled)
    }

    func testChargeMakesTheEntryCapHold() {
        let c = testConfig { $0.capacityBytes = 1000; $0.capacityEntries = 10 }
        XCTAssertEqual(c.charge(forSize: 1), 100)
        XCTAssertEqual(c.charge(forSize: 500), 500)
    }
}
