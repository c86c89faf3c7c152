import CapuchinSystem
import Foundation
import Glibc
import XCTest
@testable import CapuchinServer
import TestSupport

/// A mapped body with an immutable file of its own (a stored compressed
/// variant) goes out with sendfile on a plain socket and from memory on a
/// transport that cannot sendfile (TLS, here the in-memory one). The memory
/// copy and the file are given different bytes, so what arrives shows which
/// way the body went.
final class OutputQueueSendfileTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var dir: URL { scratch.url }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-oq-sendfile") }

    override func tearDown() { scratch = nil }

    /// A slab copy of `memory` whose immutable file holds `file` (same length).
    private func body(memory: [UInt8], file: [UInt8]) throws -> MappedFile {
        XCTAssertEqual(memory.count, file.count)
        let onDisk = dir.appendingPathComponent("variant.br")
        let copy = dir.appendingPathComponent("copy")
        try Data(file).write(to: onDisk)
        try Data(memory).write(to: copy)
        let source = try OpenFile(path: copy.path)
        let slabs = SlabAllocator(largest: 1 << 20)
        return try XCTUnwrap(MappedFile(copyOf: source.descriptor, count: memory.count, into: slabs,
                                        immutableFile: OpenFile(path: onDisk.path)))
    }

    /// A connected TCP pair on loopback (non-blocking server side, small send buffer).
    private func tcpPair(sendBuffer: Int32) throws -> (server: Int32, client: Int32) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        return try withUnsafeMutablePointer(to: &addr) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> (server: Int32, client: Int32) in
                XCTAssertEqual(bind(listener, sa, len), 0)
                XCTAssertEqual(listen(listener, 1), 0)
                XCTAssertEqual(getsockname(listener, sa, &len), 0)
                let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard connect(client, sa, len) == 0 else { throw XCTSkip("loopback connect failed") }
                let server = accept(listener, nil, nil)
                XCTAssertGreaterThanOrEqual(server, 0)
                var size = sendBuffer
                _ = setsockopt(server, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                _ = fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                return (server, client)
            }
        }
    }

    /// Flushes `queue` into `server` while reading `client` until `expected` bytes arrived.
    private func drain(_ queue: inout OutputQueue, server: Int32, client: Int32, expected: Int) throws -> [UInt8] {
        var transport = SocketTransport(fd: server)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var done = false
        for _ in 0..<100_000 where received.count < expected {
            if !done { done = try queue.flush(to: &transport) == .done }
            let n = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, 65536) }
            if n > 0 { received.append(contentsOf: buffer[0..<n]) } else { usleep(100) }
        }
        XCTAssertTrue(done)
        return received
    }

    func testAPlainSocketSendsTheFileAndMemoryTransportsTheCopy() throws {
        let count = 40_000
        let memory = [UInt8](repeating: UInt8(ascii: "m"), count: count)
        let file = (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let m = try body(memory: memory, file: file)
        let head = Array("HTTP/1.1 206 Partial Content\r\n\r\n".utf8)

        // A range of the body (offset 1000), behind a head, then a trailing owned chunk.
        var queue = OutputQueue()
        queue.appendBytes(head)
        queue.append(.mapped(m, offset: 1000, count: 30_000))
        queue.appendBytes(Array("tail".utf8))
        let (server, client) = try tcpPair(sendBuffer: 1 << 20)
        defer { close(server); close(client) }
        let got = try drain(&queue, server: server, client: client, expected: head.count + 30_000 + 4)
        XCTAssertEqual(got, head + Array(file[1000..<31_000]) + Array("tail".utf8))

        // TLS cannot sendfile: the same queue through a transport without sendfile sends the memory copy.
        var q2 = OutputQueue()
        q2.appendBytes(head)
        q2.append(.mapped(m, offset: 1000, count: 30_000))
        var memoryTransport = MemoryTransport()
        XCTAssertEqual(try q2.flush(to: &memoryTransport), .done)
        XCTAssertEqual(memoryTransport.chunks.flatMap { $0 }, head + Array(memory[1000..<31_000]))
        XCTAssertEqual(memoryTransport.writeCalls, 1, "head and body in one write")
    }

    func testASendfileThatBlocksResumesWhereItStopped() throws {
        // More than the socket and the peer's buffers hold: sendfile sends part, blocks, resumes.
        let count = 600_000
        let file = (0..<count).map { UInt8(truncatingIfNeeded: ($0 * 7) % 253) }
        let m = try body(memory: [UInt8](repeating: 0, count: count), file: file)
        let head = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        var queue = OutputQueue()
        for _ in 0..<2 {
            queue.appendBytes(head)
            queue.append(.mapped(m, offset: 0, count: count))
        }
        let (server, client) = try tcpPair(sendBuffer: 16 << 10)
        defer { close(server); close(client) }
        let got = try drain(&queue, server: server, client: client, expected: 2 * (head.count + count))
        XCTAssertEqual(got, head + file + head + file)
    }
}
