import XCTest
import Glibc
import CapuchinSystem
import HTTPCore
@testable import ReverseProxy
import TestSupport

/// `CacheFill`'s spool: a response too large to store is still written for a
/// coalescing leader's waiters (to an unlinked file they read by descriptor),
/// never committed; one that may not be shared is not written at all.
final class CacheFillTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    var dir: String { scratch.path }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-fill") }

    override func tearDown() { scratch = nil }

    private func fill(maxObjectSize: Int, spoolCapacity: Int = 1 << 30) throws -> (CacheFill, ProxyBodyStore) {
        let store = try ProxyBodyStore(cacheDirectory: dir, index: QueuedIndex(), maxObjectSize: maxObjectSize, spoolCapacity: spoolCapacity)
        return (makeFill(store), store)
    }

    private func makeFill(_ store: ProxyBodyStore) -> CacheFill {
        CacheFill(store: store, rules: HTTPCacheRules(maxObjectSize: store.maxObjectSize), request: makeRequest("GET", "/big"), primary: "h:/big")
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

    func testSpoolsShareAByteBudgetGivenBackWhenTheirReadersAreDone() throws {
        let (f, store) = try fill(maxObjectSize: 8, spoolCapacity: 24)
        let cached = [("Cache-Control", "max-age=60")]
        XCTAssertFalse(f.begin(head: head(cached + [("Content-Length", "12")], framing: .contentLength(12)), now: 0, spool: true))
        XCTAssertTrue(f.isWriting)
        XCTAssertFalse(f.spoolRefused)
        XCTAssertEqual(store.spoolBudget.reserved, 12, "a known length is reserved whole")
        var body: StreamingBody? = StreamingBody(status: 200, headers: HTTPHeaders(), chunked: false, file: try XCTUnwrap(f.openForReaders()),
                                                 vary: VaryKey(responseHeaders: HTTPHeaders(), request: HTTPHeaders()),
                                                 holding: f.spoolReservation)
        // A second one of 13 does not fit in what is left: not spooled, its waiters are handed over.
        let g = makeFill(store)
        XCTAssertFalse(g.begin(head: head(cached + [("Content-Length", "13")], framing: .contentLength(13)), now: 0, spool: true))
        XCTAssertTrue(g.spoolRefused)
        XCTAssertFalse(g.isWriting)
        XCTAssertEqual(store.spoolBudget.reserved, 12)
        // Unknown length: reserved as it grows; past the budget the spool stops.
        let c = makeFill(store)
        XCTAssertTrue(c.begin(head: head(cached, framing: .chunked), now: 0, spool: true), "length unknown: stored until it outgrows the limit")
        c.append(Array("12345".utf8), readers: true)
        XCTAssertTrue(c.isWriting, "within max_object_size: being stored")
        c.append(Array("67890".utf8), readers: true)
        XCTAssertTrue(c.isWriting, "a spool now, within the budget")
        XCTAssertEqual(store.spoolBudget.reserved, 22, "12 + the 10 spooled so far")
        c.append(Array("xyz".utf8), readers: true)
        XCTAssertFalse(c.isWriting, "past the budget: stopped")
        c.abort()
        XCTAssertEqual(store.spoolBudget.reserved, 12, "the stopped spool gave its share back")
        // The first spool's share goes when its fill and its readers are both done.
        f.append(Array("hello, world".utf8), readers: true)
        XCTAssertNil(f.commit())
        XCTAssertEqual(store.spoolBudget.reserved, 12, "its reader still holds the file")
        body = nil
        XCTAssertNil(body)
        XCTAssertEqual(store.spoolBudget.reserved, 0)
        XCTAssertEqual(temporaryFiles(), [])
    }
}
