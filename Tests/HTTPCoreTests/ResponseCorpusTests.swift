import Foundation
import XCTest
@testable import HTTPCore

/// Runs every case of Fixtures/http-responses (format: its README.md) through
/// `ResponseParser` in three splits and checks its `.expect` file.
final class ResponseCorpusTests: XCTestCase {
    static var corpusDirectory: URL {
        CorpusTests.corpusDirectory.deletingLastPathComponent().appendingPathComponent("http-responses")
    }

    static func loadCases() throws -> [CorpusTests.Case] {
        try CorpusTests.loadCases(from: corpusDirectory)
    }

    /// Feeds `raw` in pieces of `step` bytes, then (if `eof`) the end of the connection.
    static func run(_ raw: [UInt8], method: String, step: Int, eof: Bool = true) -> ResponseTranscript {
        raw.withUnsafeBytes { ResponseTranscript($0, method: method, step: step, eof: eof) }
    }

    func testCorpus() throws {
        let cases = try Self.loadCases()
        XCTAssertGreaterThanOrEqual(cases.count, 100)
        for c in cases {
            // Everything the fuzzer checks, so its findings stay fixed.
            c.raw.withUnsafeBytes { FuzzTarget.check($0) }
            let want = try XCTUnwrap(c.expect["status"], "\(c.name): no status")
            if want == "any" { continue }
            let method = c.expect["request"] ?? "GET"
            for step in [Int.max, 7, 1] {
                let r = Self.run(c.raw, method: method, step: step)
                let label = "\(c.name) in pieces of \(step == Int.max ? "all" : String(step))"
                if want == "error" {
                    let reason = try XCTUnwrap(c.expect["error"], "\(c.name): no error")
                    XCTAssertTrue(r.error?.contains(reason) == true, "\(label): expected \"\(reason)\", got \(r.error ?? "a response")")
                    continue
                }
                XCTAssertEqual(want, "ok", c.name)
                guard r.error == nil, let head = r.parser.head else {
                    XCTFail("\(label): \(r.error ?? "no head")")
                    continue
                }
                check(label, c, "code", String(head.status))
                switch head.framing {
                case .noBody: check(label, c, "framing", "none")
                case .contentLength(let n): check(label, c, "framing", "length \(n)")
                case .chunked: check(label, c, "framing", "chunked")
                case .untilClose: check(label, c, "framing", "close")
                }
                check(label, c, "keepalive", head.keepAlive ? "yes" : "no")
                if let body = c.expect["body"] { XCTAssertEqual(String(decoding: r.body, as: UTF8.self), body, "\(label): body") }
                if let length = c.expect["body-length"] { XCTAssertEqual(String(r.body.count), length, "\(label): body length") }
                XCTAssertEqual(r.interim.map(String.init).joined(separator: ","), c.expect["interim"] ?? "", "\(label): interim")
                XCTAssertEqual(r.trailers?.count ?? -1, Int(c.expect["trailers"] ?? "0"), "\(label): trailers")
                if let fields = c.expect["fields"] { XCTAssertEqual(String(head.headers.count), fields, "\(label): fields") }
                XCTAssertEqual(r.parser.sawExcessData ? "yes" : "no", c.expect["excess"] ?? "no", "\(label): excess")
            }
        }
    }

    private func check(_ label: String, _ c: CorpusTests.Case, _ key: String, _ actual: String) {
        XCTAssertEqual(actual, c.expect[key], "\(label): \(key)")
    }
}
