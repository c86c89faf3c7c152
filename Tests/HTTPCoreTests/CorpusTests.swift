import Foundation
import XCTest
@testable import HTTPCore

/// Runs every case of Fixtures/http (format: Fixtures/http/README.md) through
/// the parser and checks its `.expect` file.
final class CorpusTests: XCTestCase {
    static var corpusDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/http")
    }

    struct Case {
        var name: String
        var raw: [UInt8]
        var expect: [String: String]
    }

    static func loadCases() throws -> [Case] { try loadCases(from: corpusDirectory) }

    /// Every `.http` file of `directory` with its `.expect` keys (also the response corpus).
    static func loadCases(from directory: URL) throws -> [Case] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".http") }.sorted()
        return try names.map { name in
            let base = directory.appendingPathComponent(String(name.dropLast(5)))
            let raw = try [UInt8](Data(contentsOf: base.appendingPathExtension("http")))
            let text = try String(contentsOf: base.appendingPathExtension("expect"), encoding: .utf8)
            var expect: [String: String] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let value = line[line.index(after: colon)...].drop { $0 == " " }
                expect[String(line[..<colon])] = String(value)
            }
            return Case(name: name, raw: raw, expect: expect)
        }
    }

    func testCorpus() throws {
        let cases = try Self.loadCases()
        XCTAssertGreaterThanOrEqual(cases.count, 150)
        for c in cases {
            // Everything the fuzzer checks, so its findings stay fixed.
            c.raw.withUnsafeBytes { FuzzTarget.check($0) }
            let result = parse(c.raw)
            let want = try XCTUnwrap(c.expect["status"], "\(c.name): no status")
            switch (want, result) {
            case ("any", _):
                continue
            case ("ok", .complete(let r, let consumed)):
                check(c, "method", r.method)
                check(c, "path", r.path)
                check(c, "host", r.host ?? "-")
                switch r.framing {
                case .none: check(c, "framing", "none")
                case .chunked: check(c, "framing", "chunked")
                case .contentLength(let n): check(c, "framing", "length \(n)")
                }
                check(c, "keepalive", r.keepAlive ? "yes" : "no")
                XCTAssertEqual(r.pathHasBackslash ? "yes" : "no", c.expect["backslash"] ?? "no", c.name)
                XCTAssertEqual(consumed, Int(c.expect["consumed"] ?? "") ?? headEnd(c.raw), "\(c.name): consumed")
                if consumed < 2048 {
                    for k in 0..<consumed where status(parse(Array(c.raw[..<k]))) != 0 {
                        XCTFail("\(c.name): prefix of \(k) bytes is not incomplete")
                        break
                    }
                }
            case (_, .invalid(let e)):
                XCTAssertEqual(String(e.status), want, "\(c.name): \(e.reason)")
            default:
                XCTFail("\(c.name): expected \(want), got \(result)")
            }
        }
    }

    private func check(_ c: Case, _ key: String, _ actual: String) {
        XCTAssertEqual(actual, c.expect[key], "\(c.name): \(key)")
    }

    private func headEnd(_ raw: [UInt8]) -> Int {
        var i = 0
        while i + 1 < raw.count, raw[i] == 13, raw[i + 1] == 10 { i += 2 }  // leading empty lines
        while i + 3 < raw.count {
            if raw[i] == 13, raw[i + 1] == 10, raw[i + 2] == 13, raw[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return -1
    }
}
