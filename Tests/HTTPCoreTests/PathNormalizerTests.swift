import XCTest
@testable import HTTPCore

final class PathNormalizerTests: XCTestCase {
    private func norm(_ s: String) -> Result<PathNormalizer.Result, HTTPParseError> {
        Array(s.utf8).withUnsafeBytes { p in
            Result { try PathNormalizer.normalize(p, 0..<p.count) }.mapError { $0 as! HTTPParseError }
        }
    }

    func testNormalises() {
        let cases: [(String, String)] = [
            ("/", "/"), ("/a/b", "/a/b"), ("/a/./b", "/a/b"), ("/a/b/../c", "/a/c"), ("/a/b/..", "/a/"),
            ("/a//b", "/a/b"), ("/a/b/", "/a/b/"), ("/%61%62", "/ab"), ("/a/%2e%2E/b", "/b"), ("/%252e%252e/x", "/%2e%2e/x"),
            ("/.well-known/x", "/.well-known/x"), ("/a/.", "/a/"), ("/caf%C3%A9", "/café"), ("/a//../b", "/b"), ("/..a/b..", "/..a/b.."),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try? norm(input).get().path, expected, input)
        }
    }

    func testRefuses() {
        for input in ["/..", "/a/../..", "/%2e%2e", "/a/%2e%2e/%2e%2e/b", "/%", "/%2", "/%zz", "/%00", "/a%2fb", "/%c0%ae",
                      "/%e0%80%ae", "/%ed%a0%80", "/%f4%90%80%80", "/%ff", "/%0a", "/%c3"] {
            if case .success(let r) = norm(input) { XCTFail("\(input) gave \(r.path)") }
        }
    }

    func testCombiningMarkAfterSlashStaysBytes() throws {
        // "/" + U+20EA is one Character; the path must still be "/" then the mark, as bytes.
        let r = try norm("/%E2%83%AAx/../y").get()
        XCTAssertEqual(Array(r.path.utf8), [47, 0xE2, 0x83, 0xAA, 120, 47, 121].prefix(1) + [121])
        let kept = try norm("/%E2%83%AAx").get()
        XCTAssertEqual(Array(kept.path.utf8), [47, 0xE2, 0x83, 0xAA, 120])
        XCTAssertFalse(kept.path.hasPrefix("/"))  // why callers must work on path.utf8
    }

    func testBackslashFlagged() {
        XCTAssertEqual(try? norm("/a\\b").get(), PathNormalizer.Result(path: "/a\\b", hasBackslash: true))
        XCTAssertEqual(try? norm("/a%5C..%5Cb").get(), PathNormalizer.Result(path: "/a\\..\\b", hasBackslash: true))
        XCTAssertEqual(try? norm("/a/b").get().hasBackslash, false)
    }
}
