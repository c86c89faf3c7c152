import XCTest
@testable import FileCache

final class GlobPatternTests: XCTestCase {
    func testStarStaysInOneSegment() {
        let g = GlobPattern("/static/*.css")
        XCTAssertTrue(g.matches("/static/a.css"))
        XCTAssertFalse(g.matches("/static/sub/a.css"))
        XCTAssertFalse(g.matches("/other/a.css"))
        XCTAssertFalse(g.matches("/static/a.css.map"))
    }

    func testDoubleStarCrossesSegmentsAndMatchesNone() {
        let g = GlobPattern("/static/**/*.js")
        XCTAssertTrue(g.matches("/static/a.js"))
        XCTAssertTrue(g.matches("/static/x/y/a.js"))
        XCTAssertFalse(g.matches("/staticx/a.js"))
        XCTAssertTrue(GlobPattern("/**").matches("/any/thing"))
        XCTAssertTrue(GlobPattern("/a/**").matches("/a/b/c"))
        XCTAssertFalse(GlobPattern("/a/**").matches("/b/c"))
    }

    func testQuestionMarkIsOneCharacterNotSlash() {
        let g = GlobPattern("/img/?.png")
        XCTAssertTrue(g.matches("/img/a.png"))
        XCTAssertFalse(g.matches("/img/ab.png"))
        XCTAssertFalse(GlobPattern("/a?b").matches("/a/b"))
    }

    func testUnanchoredPatternMatchesAtAnyDepth() {
        let g = GlobPattern("*.html")
        XCTAssertTrue(g.matches("/index.html"))
        XCTAssertTrue(g.matches("/a/b/page.html"))
        XCTAssertFalse(g.matches("/a/page.htm"))
        XCTAssertTrue(GlobPattern("private/**").matches("/x/private/key.txt"))
    }

    func testManyStarsDoNotBlowUp() {
        let g = GlobPattern("/**/**/**/**/**/**/x")
        XCTAssertFalse(g.matches("/" + String(repeating: "a/", count: 200) + "y"))
        XCTAssertTrue(g.matches("/" + String(repeating: "a/", count: 200) + "x"))
    }
}
