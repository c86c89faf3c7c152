import Foundation
import XCTest
@testable import HTTPCore

/// Random mutations of the response corpus's valid cases (seeded, so
/// reproducible), each with two verdicts of ours: after the end of the
/// connection and without it. Checks that splitting the input changes
/// nothing, then hands them to Tools/differential/test_response_differential.py, which
/// compares them with h11 and llhttp (skipped when python3 lacks those
/// modules). CAPUCHIN_RESPONSE_VERDICTS_OUT=path keeps the verdict file.
final class GeneratedResponseVerdictTests: XCTestCase {
    func testMutations() throws {
        let seeds = try ResponseCorpusTests.loadCases().filter { $0.expect["status"] == "ok" && $0.raw.count < 2048 }
        XCTAssertGreaterThan(seeds.count, 30)
        var rng = GeneratedVerdictTests.SplitMix64(state: 20261206)
        var records: [[String: Any]] = []
        var states: [String: Int] = [:]
        for _ in 0..<3000 {
            let seed = seeds.randomElement(using: &rng)!
            let input = GeneratedVerdictTests.mutate(seed.raw, using: &rng)
            let method = seed.expect["request"] ?? "GET"
            let atEOF = Self.verdict(ResponseCorpusTests.run(input, method: method, step: Int.max))
            // Where the reads split the bytes changes nothing.
            let split = Self.verdict(ResponseCorpusTests.run(input, method: method, step: 7))
            XCTAssertEqual(split["state"] as? String, atEOF["state"] as? String)
            XCTAssertEqual(split["body"] as? String, atEOF["body"] as? String)
            let open = Self.verdict(ResponseCorpusTests.run(input, method: method, step: Int.max, eof: false))
            // The end of the connection only completes or refuses what was open.
            if open["state"] as? String != "incomplete" {
                XCTAssertEqual(open["state"] as? String, atEOF["state"] as? String)
            }
            states[atEOF["state"] as! String, default: 0] += 1
            var record: [String: Any] = ["hex": Self.hex(input), "method": method, "eof": atEOF, "open": open]
            if open["state"] as? String == "incomplete" {
                // What we say once the head surely ends, for references that refuse before that.
                let closed = ResponseCorpusTests.run(input + Array("\r\n\r\n".utf8), method: method, step: Int.max)
                record["closed"] = Self.verdict(closed)["state"]
            }
            records.append(record)
        }
        // The mutations reach both verdicts, so the comparison means something.
        XCTAssertGreaterThan(states["ok"] ?? 0, 300)
        XCTAssertGreaterThan(states["reject"] ?? 0, 300)
        let data = try JSONSerialization.data(withJSONObject: ["responses": records], options: [.sortedKeys])
        if let out = ProcessInfo.processInfo.environment["CAPUCHIN_RESPONSE_VERDICTS_OUT"] {
            try data.write(to: URL(fileURLWithPath: out))
        }
        try GeneratedVerdictTests.compareWithReferences(
            data, script: "test_response_differential.py", variable: "CAPUCHIN_RESPONSE_VERDICTS",
            expecting: ["generated responses vs h11: 3000 cases", "generated responses vs llhttp:"])
    }

    /// `ok` with the final code and body, `reject` with our reason, or `incomplete`.
    static func verdict(_ r: ResponseTranscript) -> [String: Any] {
        if let error = r.error { return ["state": "reject", "reason": error] }
        guard r.parser.isComplete, let head = r.parser.head else { return ["state": "incomplete"] }
        return ["state": "ok", "code": head.status, "body": hex(r.body)]
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
