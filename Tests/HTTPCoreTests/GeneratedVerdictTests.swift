import Foundation
import XCTest
@testable import HTTPCore

/// Random mutations of the corpus's valid requests (seeded, so reproducible).
/// Checks parser invariants, then hands every input with our verdict to
/// Tools/differential/test_differential.py, which compares them with h11 and
/// llhttp (skipped when python3 lacks those modules). CAPUCHIN_VERDICTS_OUT=path
/// keeps the verdict file for running the script by hand.
final class GeneratedVerdictTests: XCTestCase {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let interesting: [UInt8] = [32, 9, 13, 10, 0, 58, 44, 37, 47, 46, 0x80, 0x0b, 97, 48, 59, 61, 34, 92, 35, 63, 64]
    static let insertedLines = ["Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Host: other.example\r\n",
                                "Content-Length: 05\r\n", "Transfer-Encoding: gzip\r\n", "Connection: close\r\n", " x\r\n"]

    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(interesting.randomElement(using: &rng)!, at: at)
            case 2: bytes[at] = interesting.randomElement(using: &rng)!
            case 3: bytes[at] = (bytes[at] &- 65) < 26 ? bytes[at] | 0x20 : bytes[at]
            case 4:
                // A whole field line after the request line.
                if let lf = bytes.firstIndex(of: 10) {
                    bytes.insert(contentsOf: Array(insertedLines.randomElement(using: &rng)!.utf8), at: lf + 1)
                }
            default: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            }
        }
        return bytes
    }

    func testMutations() throws {
        let seeds = try CorpusTests.loadCases().filter { $0.expect["status"] == "ok" && $0.raw.count < 1024 }
        XCTAssertFalse(seeds.isEmpty)
        var rng = SplitMix64(state: 20261126)
        var records: [[String: Any]] = []
        var statuses: [Int: Int] = [:]
        for _ in 0..<3000 {
            let input = Self.mutate(seeds.randomElement(using: &rng)!.raw, using: &rng)
            let result = parse(input)
            var record: [String: Any] = ["hex": input.map { String(format: "%02x", $0) }.joined()]
            switch result {
            case .complete(let r, let consumed):
                record["status"] = 200
                record["method"] = r.method
                XCTAssertLessThanOrEqual(consumed, input.count)
                // Every proper prefix of the head is incomplete; the head alone parses alike.
                XCTAssertEqual(status(parse(Array(input[..<(consumed - 1)]))), 0)
                if case .complete(let again, let c2) = parse(Array(input[..<consumed])) {
                    XCTAssertEqual(c2, consumed)
                    XCTAssertEqual(again.path, r.path)
                } else {
                    XCTFail("head alone does not parse")
                }
                XCTAssertFalse(r.path.contains("/../") || r.path.hasSuffix("/..") || r.path.contains("/./") || r.path.contains("//"),
                               "not normalised: \(r.path)")
            case .incomplete:
                record["status"] = 0
            case .invalid(let e):
                record["status"] = e.status
                record["reason"] = e.reason
                XCTAssertTrue([400, 414, 431, 501, 505].contains(e.status))
            }
            statuses[record["status"] as! Int, default: 0] += 1
            records.append(record)
        }
        // The mutations reach both verdicts, so the comparison means something.
        XCTAssertGreaterThan(statuses[200] ?? 0, 100)
        XCTAssertGreaterThan(statuses[400] ?? 0, 100)
        let data = try JSONSerialization.data(withJSONObject: ["requests": records, "chunked": chunkedRecords()],
                                              options: [.sortedKeys])
        if let out = ProcessInfo.processInfo.environment["CAPUCHIN_VERDICTS_OUT"] {
            try data.write(to: URL(fileURLWithPath: out))
        }
        try Self.compareWithReferences(data, script: "test_differential.py", variable: "CAPUCHIN_VERDICTS",
                                       expecting: ["generated vs h11: 3000 cases", "chunked vs llhttp: 2000 cases"])
    }

    static let chunkedSeeds = ["5\r\nhello\r\n0\r\n\r\n", "3;a=b\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
                               "a\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n", "1;n=\"q\"\r\nz\r\n0\r\n\r\n", "0\r\n\r\n"]

    /// Mutated chunked bodies with our decoder's verdict (status 200 = complete, 0 = needs more).
    private func chunkedRecords() -> [[String: Any]] {
        var rng = SplitMix64(state: 112620)
        var records: [[String: Any]] = []
        var complete = 0
        for _ in 0..<2000 {
            let input = Self.mutate(Array(Self.chunkedSeeds.randomElement(using: &rng)!.utf8), using: &rng)
            var record = Self.chunkedVerdict(input)
            record["hex"] = input.map { String(format: "%02x", $0) }.joined()
            if record["status"] as? Int == 200 { complete += 1 }
            if record["status"] as? Int == 0 {
                // What we say once the line ends, for references that refuse before that.
                record["closed"] = Self.chunkedVerdict(input + Array("\r\n\r\n".utf8))["status"]
            }
            records.append(record)
        }
        XCTAssertGreaterThan(complete, 100)
        return records
    }

    static func chunkedVerdict(_ input: [UInt8]) -> [String: Any] {
        var decoder = ChunkedDecoder()
        var body: [UInt8] = []
        do {
            _ = try input.withUnsafeBytes { try decoder.decode($0) { body.append(contentsOf: $0) } }
            return ["status": decoder.isComplete ? 200 : 0, "body": body.map { String(format: "%02x", $0) }.joined()]
        } catch {
            let e = error as! HTTPParseError
            return ["status": e.status, "reason": e.reason]
        }
    }

    /// Runs Tools/differential/`script` on `verdicts` (its path in the environment
    /// `variable`); fails on any unexplained disagreement or when the report
    /// lacks one of the `expecting` lines (the cases were really compared).
    static func compareWithReferences(_ verdicts: Data, script name: String, variable: String, expecting: [String]) throws {
        guard run(["python3", "-c", "import h11, httptools"], timeout: 30).status == 0 else {
            throw XCTSkip("python3 with h11 and httptools is not available")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capuchin-verdicts-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("verdicts.json")
        try verdicts.write(to: file)
        let script = CorpusTests.corpusDirectory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tools/differential/\(name)").path
        let result = run(["python3", script], timeout: 120, environment: [variable: file.path])
        XCTAssertEqual(result.status, 0, result.output)
        for line in expecting { XCTAssertTrue(result.output.contains(line), result.output) }
    }

    /// Runs a child bounded in time (terminated by PID when over); returns its status and output.
    private static func run(_ arguments: [String], timeout: Double, environment: [String: String] = [:]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("capuchin-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        guard let handle = try? FileHandle(forWritingTo: log) else { return (-1, "cannot create \(log.path)") }
        process.standardOutput = handle
        process.standardError = handle
        do { try process.run() } catch { return (-1, "\(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return (-1, "timed out: \(arguments)")
        }
        try? handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (process.terminationStatus, output)
    }
}
