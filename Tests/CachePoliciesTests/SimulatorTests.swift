import XCTest
@testable import CachePolicies
#if canImport(Glibc)
import Glibc
#endif

final class SimulatorTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/capuchin-sim-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(cString: try XCTUnwrap(made))
    }

    override func tearDown() {
        if let d = opendir(directory) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { unlink(directory + "/" + name) }
            }
            closedir(d)
        }
        rmdir(directory)
    }

    /// Runs the simulator on `text` and returns (result, output).
    private func simulate(_ text: String, policy: PolicyKind = .lru, capacity: Int) throws -> (Simulator.Result, String) {
        let path = directory + "/trace"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
        lseek(fd, 0, SEEK_SET)
        var out = ""
        let r = try Simulator.run(policy: policy, capacity: capacity, input: fd, output: &out)
        return (r, out)
    }

    private func assertMalformed(_ text: String, line: Int, _ fragment: String, file: StaticString = #filePath,
                                 lineNumber: UInt = #line) {
        XCTAssertThrowsError(try simulate(text, capacity: 10), file: file, line: lineNumber) { error in
            guard case SimulatorError.malformedLine(let l, let reason) = error else {
                return XCTFail("unexpected \(error)", file: file, line: lineNumber)
            }
            XCTAssertEqual(l, line, file: file, line: lineNumber)
            XCTAssertTrue(reason.contains(fragment), reason, file: file, line: lineNumber)
            XCTAssertTrue("\(error)".contains("line \(line)"), file: file, line: lineNumber)
        }
    }

    func testKeysOnly() throws {
        // LRU of 2: a b a(hit) c(evicts b) a(hit) b
        let (r, out) = try simulate("a\nb\na\nc\na\nb\n", capacity: 2)
        XCTAssertEqual(out, "2 2\n")
        XCTAssertEqual(r.requests, 6)
        XCTAssertFalse(r.sized)
    }

    func testKeysWithSizesCountBytes() throws {
        // 30 bytes: a(10) b(20) a hit, c(15) evicts b... LRU order b a -> evict b (20) -> a c
        let (r, out) = try simulate("a,10\nb,20\na,10\nc,15\na,10\nb,20\n", capacity: 30)
        XCTAssertEqual(out, "2 20\n")
        XCTAssertTrue(r.sized)
        XCTAssertEqual(r.requestBytes, 85)
    }

    func testToleratedFormatting() throws {
        let text = "key,size\r\n# comment\n\n  a , 5 \r\nb,0\na,5\nlast,1"
        let (r, out) = try simulate(text, capacity: 100)
        XCTAssertEqual(out, "1 5\n", "header, comment, blank, CRLF, zero size, no final newline")
        XCTAssertEqual(r.requests, 3)
    }

    func testKeysAreWholeStrings() throws {
        // Keys sharing prefixes or hashes stay distinct; a key with a comma keeps it.
        let lines = (0..<3_000).map { "k\($0)" } + (0..<3_000).map { "k\($0)" }
        let (r, _) = try simulate(lines.joined(separator: "\n"), capacity: 10_000)
        XCTAssertEqual(r.hits, 3_000)
        let (sized, out) = try simulate("a,b,3\na,b,3\n", capacity: 10)
        XCTAssertEqual(out, "1 3\n")
        XCTAssertTrue(sized.sized)
    }

    func testManyChunks() throws {
        // More than one read buffer: lines cross chunk boundaries.
        var text = ""
        for i in 0..<200_000 { text += "key-\(i % 1_000)\n" }
        let (r, out) = try simulate(text, capacity: 1_000)
        XCTAssertEqual(r.requests, 200_000)
        XCTAssertEqual(out, "199000 199000\n")
    }

    func testMalformedLinesNameTheLine() {
        assertMalformed("a,1\nb,x\n", line: 2, "\"x\"")
        assertMalformed("a,1\nb,-3\n", line: 2, "\"-3\"")
        assertMalformed("a,1\nb\n", line: 2, "KEY,SIZE")
        assertMalformed("a\n\nb,4\n", line: 3, "KEY alone")
        assertMalformed("a,1\n,4\n", line: 2, "empty key")
        assertMalformed("a,1\nb,99999999999999999999\n", line: 2, "not a non-negative integer")
        assertMalformed("a\nb\n" + String(repeating: "x", count: TraceReader.chunkSize + 10) + "\n", line: 3, "longer than")
    }

    func testCapacityMustBePositive() {
        XCTAssertThrowsError(try simulate("a\n", capacity: 0)) { error in
            XCTAssertEqual(error as? SimulatorError, .invalidCapacity(0))
        }
    }

    func testReadErrorIsReported() {
        var out = ""
        XCTAssertThrowsError(try Simulator.run(policy: .lru, capacity: 1, input: -1, output: &out)) { error in
            XCTAssertEqual(error as? SimulatorError, .readFailed(errno: EBADF))
        }
    }
}
