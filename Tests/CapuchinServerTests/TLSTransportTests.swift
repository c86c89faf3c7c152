import CapuchinSystem
import CapuchinTLS
import Foundation
import Glibc
import XCTest
@testable import CapuchinServer
import TestSupport

/// `TLSTransport` over a socket pair whose sending side holds little: the
/// records of one write are sent with one send(2), what the socket does not
/// take stays pending, and the transport reports one byte less than it
/// encrypted so its caller waits for the socket and offers the rest again.
/// The peer is a client `TLSSession`; every byte must arrive in order.
final class TLSTransportTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var dir: URL { scratch.url }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-tls-transport") }

    override func tearDown() { scratch = nil }

    private func certificate() throws -> TLSContext { try TLSTestPeers.selfSignedContext(in: dir) }

    private func socketPair(sendBuffer: Int32) -> (Int32, Int32) { TLSTestPeers.socketPair(sendBuffer: sendBuffer) }

    /// A server session and a client one over the pair, handshake done.
    private func establishedSessions(serverFD: Int32, clientFD: Int32) throws -> (TLSSession, TLSSession) {
        let server = try XCTUnwrap(TLSSession(server: TLSSiteCertificates(defaultContext: certificate()), fd: serverFD, counters: nil))
        let client = try XCTUnwrap(TLSClientContext(caFile: nil, verify: false).session(fd: clientFD, serverName: "localhost", origin: "pair"))
        for _ in 0..<100 where !(server.isEstablished && client.isEstablished) {
            server.socketSignalled()  // as the worker does on every epoll event of the socket
            _ = server.handshake()
            _ = client.handshake()
        }
        XCTAssertTrue(server.isEstablished && client.isEstablished)
        return (server, client)
    }

    func testPendingRecordsAreHeldBackAndEveryByteArrives() throws {
        let (serverFD, clientFD) = socketPair(sendBuffer: 8192)
        defer { close(serverFD); close(clientFD) }
        let (server, client) = try establishedSessions(serverFD: serverFD, clientFD: clientFD)

        // A head and a 60 KB body (a cached hit), then a 20 KB one: more than the socket holds.
        var rng = SystemRandomNumberGenerator()
        let ranges: [[UInt8]] = [Array("HTTP/1.1 200 OK\r\nContent-Length: 60000\r\n\r\n".utf8),
                                 (0..<60000).map { _ in UInt8.random(in: 0...255, using: &rng) },
                                 (0..<20000).map { _ in UInt8.random(in: 0...255, using: &rng) }]
        let sent = ranges.flatMap { $0 }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: TLSTransport.recordBytes, alignment: 16)
        defer { scratch.deallocate() }
        let batch = TLSRecordBatch()
        var received: [UInt8] = []
        var offered = 0  // plaintext the transport has reported written
        var heldBackSeen = false
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        for _ in 0..<10_000 where received.count < sent.count {
            if offered < sent.count {
                var transport = TLSTransport(session: server, fd: serverFD, scratch: scratch, batch: batch)
                let result = try sent.withUnsafeBytes { all -> IOResult<Int> in
                    try IOVectors.with(capacity: 4) { iov in
                        // The ranges from `offered` on, as the output queue offers them again.
                        var start = 0
                        for r in ranges {
                            let end = start + r.count
                            if end > offered { iov.append(all.baseAddress! + max(start, offered), count: end - max(start, offered)) }
                            start = end
                        }
                        return try transport.write(iov)
                    }
                }
                if case .processed(let n) = result { offered += n }
                if server.heldBackBytes > 0 {
                    heldBackSeen = true
                    XCTAssertTrue(server.pendingBytes > 0 && transport.wantsWritable)
                    XCTAssertLessThan(offered, sent.count, "the caller is told to wait while ciphertext is pending")
                }
            }
            // The client reads a little at a time.
            if case .done(let n) = client.read(into: buffer, count: 3000) {
                received += UnsafeRawBufferPointer(start: buffer, count: n)
            }
        }
        XCTAssertTrue(heldBackSeen, "the socket took part of a batch at least once")
        XCTAssertEqual(offered, sent.count)
        XCTAssertEqual(server.pendingBytes, 0)
        XCTAssertEqual(received.count, sent.count)
        XCTAssertTrue(received == sent, "every byte arrives in order")
    }

    /// After a read(2) that emptied the socket (a short read) the server session does
    /// not call read(2) again, which could only say EAGAIN: input that arrives then
    /// waits for the worker's next epoll event (`socketSignalled`), and is read whole then.
    func testAShortReadSkipsTheNextReadUntilTheSocketIsSignalled() throws {
        let (serverFD, clientFD) = socketPair(sendBuffer: 1 << 20)
        defer { close(serverFD); close(clientFD) }
        let (server, client) = try establishedSessions(serverFD: serverFD, clientFD: clientFD)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        let first = Array("GET /1 HTTP/1.1\r\n\r\n".utf8), second = Array("GET /2 HTTP/1.1\r\n\r\n".utf8)
        _ = first.withUnsafeBytes { client.write($0.baseAddress!, count: $0.count) }
        server.socketSignalled()
        guard case .done(let n) = server.read(into: buffer, count: 65536) else { return XCTFail("the first request is read") }
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: buffer, count: n)), first)
        _ = second.withUnsafeBytes { client.write($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(server.read(into: buffer, count: 65536), .wantRead, "no read(2) before the socket is signalled again")
        server.socketSignalled()
        guard case .done(let m) = server.read(into: buffer, count: 65536) else { return XCTFail("the second request is read") }
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: buffer, count: m)), second)
        // An empty socket still answers want-read (EAGAIN), and the end of the stream is seen.
        server.socketSignalled()
        XCTAssertEqual(server.read(into: buffer, count: 65536), .wantRead)
        shutdown(clientFD, Int32(SHUT_WR))
        server.socketSignalled()
        XCTAssertEqual(server.read(into: buffer, count: 65536), .closed)
    }

    /// Keep-alive requests over an established pair take OpenSSL's record
    /// buffers from this thread's pool (TLSRecordBuffers), not from malloc, and
    /// give them back once the request is answered: a session between requests
    /// holds none (SSL_MODE_RELEASE_BUFFERS), the pool holds what it held before.
    func testKeepAliveRecordBuffersComeFromThePoolAndIdleSessionsHoldNone() throws {
        XCTAssertTrue(TLSRecordBuffers.isPooling, "OpenSSL took the pool's allocator")
        let (serverFD, clientFD) = socketPair(sendBuffer: 1 << 20)
        defer { close(serverFD); close(clientFD) }
        let (server, client) = try establishedSessions(serverFD: serverFD, clientFD: clientFD)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        let request = Array("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        let response = Array(("HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n" + String(repeating: "x", count: 1024)).utf8)

        /// One request and its response; the bytes each side received.
        func exchange() -> ([UInt8], [UInt8]) {
            _ = request.withUnsafeBytes { client.write($0.baseAddress!, count: $0.count) }
            var got: [UInt8] = []
            server.socketSignalled()  // as the worker does on every epoll event of the socket
            if case .done(let n) = server.read(into: buffer, count: 65536) { got = Array(UnsafeRawBufferPointer(start: buffer, count: n)) }
            _ = response.withUnsafeBytes { server.write($0.baseAddress!, count: $0.count) }
            var answer: [UInt8] = []
            for _ in 0..<10 where answer.count < response.count {
                if case .done(let n) = client.read(into: buffer, count: 65536) { answer += UnsafeRawBufferPointer(start: buffer, count: n) }
            }
            return (got, answer)
        }

        // The first two may allocate (a fresh pool) and the client reads the session ticket.
        for _ in 0..<2 { XCTAssertTrue(exchange() == (request, response)) }
        let held = TLSRecordBuffers.heldOnThisThread
        let reused = TLSRecordBuffers.reusedOnThisThread, allocated = TLSRecordBuffers.allocatedOnThisThread
        XCTAssertGreaterThan(held, 0, "the first requests' buffers were given back")
        for _ in 0..<20 {
            XCTAssertTrue(exchange() == (request, response))
            XCTAssertEqual(TLSRecordBuffers.heldOnThisThread, held, "both sessions gave every record buffer back")
        }
        // Per request: the client's write and read buffers, the server's read and write buffers.
        XCTAssertGreaterThanOrEqual(TLSRecordBuffers.reusedOnThisThread - reused, 4 * 20)
        XCTAssertEqual(TLSRecordBuffers.allocatedOnThisThread, allocated, "no record buffer from malloc once the pool is warm")
    }
}
