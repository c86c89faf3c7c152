import XCTest
@testable import HTTPCore

final class ConditionalEvaluatorTests: XCTestCase {
    let etag = "\"v1\""
    let modified = 784111777  // Sun, 06 Nov 1994 08:49:37 GMT

    private func decide(_ fields: [(String, String)]) -> RepresentationDecision { decide("GET", fields) }

    private func decide(_ method: String, _ fields: [(String, String)]) -> RepresentationDecision {
        ConditionalEvaluator.evaluate(method: method, headers: HTTPHeaders(fields), etag: etag,
                                      lastModifiedSeconds: modified, length: 1000)
    }

    func testIfNoneMatch() {
        XCTAssertEqual(decide([("If-None-Match", "\"v0\", W/\"v1\"")]), .notModified)
        XCTAssertEqual(decide([("If-None-Match", "*")]), .notModified)
        XCTAssertEqual(decide([("If-None-Match", "\"v0\"")]), .full)
        XCTAssertEqual(decide("PUT", [("If-None-Match", "*")]), .preconditionFailed)
        // If-None-Match wins over If-Modified-Since.
        XCTAssertEqual(decide([("If-None-Match", "\"v0\""), ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]), .full)
        XCTAssertEqual(decide([("If-None-Match", "garbage")]), .full)
    }

    /// A field holding exactly the representation's tag (a browser revalidating)
    /// is decided without parsing: the same answers as the parsed list's.
    func testTheRepresentationsOwnTagSentBack() {
        func decide(_ method: String = "GET", tag: String, _ fields: [(String, String)]) -> RepresentationDecision {
            ConditionalEvaluator.evaluate(method: method, headers: HTTPHeaders(fields), etag: tag, lastModifiedSeconds: modified, length: 10)
        }
        XCTAssertEqual(decide(tag: "\"v1\"", [("If-None-Match", "\"v1\"")]), .notModified)
        XCTAssertEqual(decide(tag: "W/\"v1\"", [("If-None-Match", "W/\"v1\"")]), .notModified, "weak comparison")
        XCTAssertEqual(decide("DELETE", tag: "\"v1\"", [("If-None-Match", "\"v1\"")]), .preconditionFailed)
        XCTAssertEqual(decide(tag: "\"v1\"", [("If-Match", "\"v1\"")]), .full)
        XCTAssertEqual(decide(tag: "W/\"v1\"", [("If-Match", "W/\"v1\"")]), .preconditionFailed, "strong comparison")
        // Two lines are one list: the tag among them still matches.
        XCTAssertEqual(decide(tag: "\"v1\"", [("If-None-Match", "\"v1\""), ("if-none-match", "\"v0\"")]), .notModified)
        XCTAssertEqual(decide(tag: "\"v1\"", [("If-Match", "\"v0\""), ("IF-MATCH", "\"v1\"")]), .full)
        XCTAssertEqual(decide(tag: "\"v1\"", [("If-Match", "\"v0\""), ("IF-MATCH", "\"v2\"")]), .preconditionFailed)
    }

    func testIfModifiedSince() {
        XCTAssertEqual(decide([("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]), .notModified)
        XCTAssertEqual(decide([("If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT")]), .full)
        XCTAssertEqual(decide([("If-Modified-Since", "yesterday")]), .full)
        XCTAssertEqual(decide("POST", [("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]), .full)
    }

    func testIfMatchAndUnmodifiedSince() {
        XCTAssertEqual(decide([("If-Match", "\"v2\"")]), .preconditionFailed)
        XCTAssertEqual(decide([("If-Match", "W/\"v1\"")]), .preconditionFailed)  // strong comparison
        XCTAssertEqual(decide([("If-Match", "\"v1\"")]), .full)
        XCTAssertEqual(decide([("If-Match", "\"v1\""), ("If-Unmodified-Since", "Sat, 05 Nov 1994 00:00:00 GMT")]), .full)
        XCTAssertEqual(decide([("If-Unmodified-Since", "Sat, 05 Nov 1994 00:00:00 GMT")]), .preconditionFailed)
        XCTAssertEqual(decide([("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]), .full)
    }

    func testRange() {
        XCTAssertEqual(decide([("Range", "bytes=0-99")]), .partial([0...99]))
        XCTAssertEqual(decide([("Range", "bytes=-100")]), .partial([900...999]))
        XCTAssertEqual(decide([("Range", "bytes=990-")]), .partial([990...999]))
        XCTAssertEqual(decide([("Range", "bytes=0-9, 20-29")]), .partial([0...9, 20...29]))
        XCTAssertEqual(decide([("Range", "bytes=20-29,0-9")]), .partial([20...29, 0...9]))
        XCTAssertEqual(decide([("Range", "bytes=0-9,5-19,20-29")]), .partial([0...29]))
        XCTAssertEqual(decide([("Range", "bytes=1000-")]), .unsatisfiable)
        XCTAssertEqual(decide([("Range", "bytes=-0")]), .unsatisfiable)
        XCTAssertEqual(decide([("Range", "bytes=0-,0-")]), .full)        // amplification
        XCTAssertEqual(decide([("Range", "bytes=9-0")]), .full)          // invalid
        XCTAssertEqual(decide([("Range", "items=0-9")]), .full)
        let many = (0..<17).map { "\($0 * 10)-\($0 * 10 + 1)" }.joined(separator: ",")
        XCTAssertEqual(decide([("Range", "bytes=" + many)]), .full)
        XCTAssertEqual(decide("HEAD", [("Range", "bytes=0-9")]), .full)
        XCTAssertEqual(decide([("Range", "bytes=0-99999999999999999999999")]), .partial([0...999]))
        // Found by the fuzzer: the sum of huge ranges overflowed.
        XCTAssertEqual(ByteRanges.resolve(ByteRanges.parse("bytes=0-,0-,0-,0-")!, length: Int.max / 2), .ignore)
        XCTAssertEqual(ByteRanges.resolve(ByteRanges.parse("bytes=0-,0-")!, length: Int.max), .ignore)
    }

    func testIfRange() {
        XCTAssertEqual(decide([("Range", "bytes=0-9"), ("If-Range", "\"v1\"")]), .partial([0...9]))
        XCTAssertEqual(decide([("Range", "bytes=0-9"), ("If-Range", "\"v0\"")]), .full)
        XCTAssertEqual(decide([("Range", "bytes=0-9"), ("If-Range", "W/\"v1\"")]), .full)
        XCTAssertEqual(decide([("Range", "bytes=0-9"), ("If-Range", "Sun, 06 Nov 1994 08:49:37 GMT")]), .partial([0...9]))
        XCTAssertEqual(decide([("Range", "bytes=0-9"), ("If-Range", "Sun, 06 Nov 1994 08:49:38 GMT")]), .full)
    }

    func testEntityTagParsing() {
        XCTAssertEqual(EntityTag.parseList("*"), .any)
        XCTAssertEqual(EntityTag.parseList(" \"a\" ,, W/\"b\""), .tags([EntityTag(opaque: "a"), EntityTag(opaque: "b", isWeak: true)]))
        XCTAssertNil(EntityTag.parseList("a"))
        XCTAssertNil(EntityTag.parseList("\"a\" \"b\""))
        XCTAssertNil(EntityTag.parseList("*, \"a\""))
        XCTAssertEqual(EntityTag("W/\"x\"")?.text, "W/\"x\"")
    }
}
