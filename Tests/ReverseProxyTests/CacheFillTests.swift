import XCTest
import Glibc
import CapuchinSystem
import HTTPCore
@testable import ReverseProxy

/// `CacheFill`'s spool: a response too large to store is still written for a
/// coalescing leader's waiters (to an unlinked file they read by descriptor),
/// never committed; one that may not be shared is not written at all.
final class CacheFillTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/capuchin-fill-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        dir = String(cString: try XCTUnwrap(made))
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { _ = system("rm -rf '\(dir)'") }
    }

    private func fill(maxObjectSize: Int) throws -> (CacheFill, ProxyBodyStore) {
        let store = try ProxyBodyStore(cacheDirectory: dir, index: QueuedIndex(), maxObjectSize: maxObjectSize)
        return (CacheFill(store: store, rules: HTTPCacheRules(maxObjectSize: maxObjectSize), request: makeRequest("GET", "/big"),
                          primary: "h:/big"), store)
    }

    private func head(_ fields: [(String, String)], framing: ResponseFraming) -> BackendResponseHead {
        BackendResponseHead(version: .http11, status: 200, reason: "OK", headers: HTTPHeaders(fields), framing: framing, keepAlive: true)
    }

    private func read(_ file: OpenFile, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { try FileIO.pread(file.fd, into: $0.baseAddress!, count: count, offset: 0) }
        return Array(out[0..<n])
    }

    private func temporaryFiles() -> [String] { BodyFiles.list(dir + "/proxy/tmp") }

    func testATooLargeResponseIsSpooledForReadersAndNeverStored() throws {
        let (f, store) = try fill(maxObjectSize: 8)
        XCTAssertFalse(f.begin(head: head([("Cache-Control", "max-age=60"), ("Content-Length", "12")], framing: .contentLength(12)),
                               now: 0, spool: true))
        XCTAssertTrue(f.isWriting)
        XCTAssertFalse(f.isStoring)
        XCTAssertEqual(f.shareable, true)
        let reader = try XCTUnwrap(f.openForReaders())
        XCTAssertEqual(temporaryFiles(), [], "unlinked once its reader has it")
        f.append(Array("hello, ".utf8), readers: true)
        f.append(Array("world".utf8), readers: true)
        XCTAssertEqual(try read(reader, count: 64), Array("hello, world".utf8))
        XCTAssertNil(f.commit())
        XCTAssertEqual(store.count, 0)
        XCTAssertEqual(try read(reader, count: 64), Array("hello, world".utf8), "its readers keep the file")
    }

    func testWithoutWaitersATooLargeResponseIsNotWritten() throws {
        let (f, _) = try fill(maxObjectSize: 8)
        XCTAssertFalse(f.begin(head: head([("Cache-Control", "max-age=60"), ("Content-Length", "12")], framing: .contentLength(12)), now: 0))
        XCTAssertFalse(f.isWriting)
        XCTAssertEqual(temporaryFiles(), [])
    }

    func testABodyGrowingPastTheLimitBecomesASpoolForItsReaders() throws {
        let (f, store) = try fill(maxObjectSize: 8)
        XCTAssertTrue(f.begin(head: head([("Cache-Control", "max-age=60")], framing: .chunked), now: 0, spool: true))
        let reader = try XCTUnwrap(f.openForReaders())
        XCTAssertEqual(temporaryFiles().count, 1, "a body being stored keeps its path until it is committed")
        f.append(Array("12345".utf8), readers: true)
        f.append(Array("6789abc".utf8), readers: true)
        XCTAssertTrue(f.isWriting)
        XCTAssertFalse(f.isStoring)
        XCTAssertEqual(f.notStoredReason, NotStorableReason.tooLarge.rawValue)
        XCTAssertEqual(temporaryFiles(), [])
        XCTAssertEqual(try read(reader, count: 64), Array("123456789abc".utf8))
        XCTAssertNil(f.commit())
        XCTAssertEqual(store.count, 0)
    }

    func testWithoutReadersABodyGrowingPastTheLimitIsDropped() throws {
        let (f, _) = try fill(maxObjectSize: 8)
        XCTAssertTrue(f.begin(head: head([("Cache-Control", "max-age=60")], framing: .chunked), now: 0))
        f.append(Array("123456789".utf8))
        XCTAssertFalse(f.isWriting)
        XCTAssertEqual(temporaryFiles(), [])
        XCTAssertNil(f.commit())
    }

    func testAResponseThatMayNotBeSharedIsNotWritten() throws {
        let (f, _) = try fill(maxObjectSize: 1 << 20)
        XCTAssertFalse(f.begin(head: head([("Cache-Control", "private, max-age=60"), ("Content-Length", "2")], framing: .contentLength(2)),
                               now: 0, spool: true))
        XCTAssertFalse(f.isWriting)
        XCTAssertEqual(f.shareable, false)
        XCTAssertEqual(temporaryFiles(), [])
    }
}
