import CapuchinSystem
import CapuchinTLS
import COpenSSL
import Foundation
import Glibc
import XCTest
@testable import CapuchinServer
import TestSupport

/// Kernel TLS. The probe answers what this kernel offers (the test machine has
/// no `tls` ULP: the userspace path, which every other test covers). The
/// plumbing is checked with the kernel simulated: the session's
/// `KernelTLSTransmit` is a `SimulatedKernel` that takes the keys OpenSSL hands
/// over and seals what the server writes into TLS 1.3 records, as Linux's
/// tls_sw does, for a real OpenSSL client on the other side to read.
final class KernelTLSTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var dir: URL { scratch.url }

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "capuchin-ktls") }

    override func tearDown() { scratch = nil }

    // MARK: probe and mode

    func testProbeAgreesWithTheKernelsULPList() throws {
        let reason = KernelTLS.unavailableReason
        // The probe's setsockopt loads the `tls` module where it exists, so afterwards the list says whether it worked.
        let listed = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_available_ulp", encoding: .utf8))?
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("tls") ?? false
        XCTAssertEqual(reason == nil, listed, "probe: \(reason ?? "available")")
        if let reason {
            XCTAssertTrue(reason.hasPrefix("setsockopt(TCP_ULP, tls): "), reason)
            XCTAssertNil(KernelTLS.transmit(wanted: true))
            XCTAssertEqual(KernelTLS.modeDescription(wanted: true), "userspace records (kernel has no tls ULP: \(reason))")
        } else {
            XCTAssertNotNil(KernelTLS.transmit(wanted: true))
            XCTAssertEqual(KernelTLS.modeDescription(wanted: true), "kernel TLS (tx)")
        }
        XCTAssertNil(KernelTLS.transmit(wanted: false))
        XCTAssertEqual(KernelTLS.modeDescription(wanted: false), "userspace records (ktls: off)")
    }

    func testSetsockoptOnAnUnconnectedSocketIsRefusedWithItsErrno() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let info = [UInt8](repeating: 0, count: 40)
        XCTAssertThrowsError(try info.withUnsafeBytes { try KernelTLSSocket.enableTransmit(fd, cryptoInfo: $0) }) { e in
            let error = e as? SystemError
            XCTAssertEqual(error?.call, "setsockopt(TCP_ULP, tls)")
            XCTAssertNotEqual(error?.errno ?? 0, 0)
        }
    }

    // MARK: the BIO's kernel-TLS plumbing, kernel simulated

    /// A server session handing its keys to a simulated kernel, a real OpenSSL
    /// client reading through it: the keys and sequence OpenSSL gives are the
    /// right ones (else the client's decryption fails), the session ticket and
    /// close_notify go as control records of their types, and a hit written by
    /// the transport (writev of the ranges, sendfile of a file) reaches the
    /// kernel as plaintext and the client intact.
    func testKeysHandedToTheKernelSealRecordsAnOpenSSLClientReads() throws {
        let (server, kernel, serverFD, clientFD) = try serverWithSimulatedKernel()
        let client = try XCTUnwrap(TLSClientContext(caFile: nil, verify: false).session(fd: clientFD, serverName: "localhost", origin: "ktls"))
        for _ in 0..<100 where !(server.isEstablished && client.isEstablished) {
            _ = client.handshake()
            kernel.toServer()
            server.socketSignalled()  // as the worker does on every epoll event of the socket
            _ = server.handshake()
            kernel.toClient()
        }
        XCTAssertTrue(server.isEstablished && client.isEstablished)
        XCTAssertTrue(server.kernelSends, "the write BIO took the keys")
        XCTAssertEqual(kernel.version, 0x0304, "TLS 1.3")
        XCTAssertEqual(kernel.cipherType, 51, "TLS_CIPHER_AES_GCM_128")
        XCTAssertEqual(kernel.firstSequence, 0, "the first application record")
        XCTAssertEqual(kernel.sealedTypes.first, 22, "the session ticket went as a handshake record")

        // A cached hit: a head and a 60 KB body from memory, then a file's 20 KB.
        var rng = SystemRandomNumberGenerator()
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 80000\r\n\r\n".utf8)
        let body = (0..<60000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let fileBytes = (0..<20000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let path = dir.appendingPathComponent("f").path
        try Data(fileBytes).write(to: URL(fileURLWithPath: path))
        let file = try OpenFile(path: path)
        let scratchBuffer = UnsafeMutableRawPointer.allocate(byteCount: TLSTransport.recordBytes, alignment: 16)
        defer { scratchBuffer.deallocate() }
        var transport = TLSTransport(session: server, fd: serverFD, scratch: scratchBuffer, batch: TLSRecordBatch())
        let sent = head + body + fileBytes
        var written = 0
        for _ in 0..<1000 where written < head.count + body.count {
            let result = try head.withUnsafeBytes { h in
                try body.withUnsafeBytes { b in
                    try IOVectors.with(capacity: 2) { iov -> IOResult<Int> in
                        if written < h.count { iov.append(h.baseAddress! + written, count: h.count - written) }
                        let o = max(0, written - h.count)
                        iov.append(b.baseAddress! + o, count: b.count - o)
                        return try transport.write(iov)
                    }
                }
            }
            if case .processed(let n) = result { written += n }
            kernel.toClient()
        }
        var fileSent = 0
        for _ in 0..<1000 where fileSent < fileBytes.count {
            if case .processed(let n) = try transport.send(file: file, offset: fileSent, count: fileBytes.count - fileSent) { fileSent += n }
            kernel.toClient()
        }
        XCTAssertEqual(kernel.plaintextBytes, sent.count, "the transport wrote plaintext on the socket (no SSL_write)")

        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        var received: [UInt8] = []
        for _ in 0..<1000 where received.count < sent.count {
            kernel.toClient()
            if case .done(let n) = client.read(into: buffer, count: 65536) { received += UnsafeRawBufferPointer(start: buffer, count: n) }
        }
        XCTAssertEqual(received.count, sent.count)
        XCTAssertTrue(received == sent, "every byte arrives in order, decrypted by the client")

        // The client's request still reaches the server in user space (receive keys stay there).
        let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { client.write($0.baseAddress!, count: $0.count) }
        kernel.toServer()
        var got: [UInt8] = []
        server.socketSignalled()  // as the worker does on every epoll event of the socket
        if case .done(let n) = server.read(into: buffer, count: 65536) { got = Array(UnsafeRawBufferPointer(start: buffer, count: n)) }
        XCTAssertEqual(got, request)

        // close_notify: an alert record by the control-message path; the client sees a clean close.
        server.shutdown()
        kernel.toClient()
        XCTAssertEqual(kernel.sealedTypes.last, 21, "an alert record")
        var closed = false
        for _ in 0..<10 where !closed { if client.read(into: buffer, count: 65536) == .closed { closed = true } }
        XCTAssertTrue(closed, "close_notify decrypted by the client")
        XCTAssertEqual(kernel.failures, [])
    }

    /// TLS 1.2 (a client that offers no more): OpenSSL hands the send keys over
    /// after its ChangeCipherSpec, its Finished goes as the first control
    /// record, and responses written by the transport reach the client, while
    /// the client's requests are still decrypted in user space. (OpenSSL offers
    /// TLS 1.2's receive keys to the read BIO, which refuses them; on a socket
    /// pair the kernel would refuse them as well, so this does not tell the two apart.)
    func testTLS12SendKeysGoToTheKernelAndReceivingStaysInUserSpace() throws {
        let (server, kernel, serverFD, clientFD) = try serverWithSimulatedKernel()
        try withPlainClient(fd: clientFD, maxVersion: TLS1_2_VERSION, server: server, kernel: kernel) { client in
            XCTAssertEqual(String(cString: SSL_get_version(client)), "TLSv1.2")
            XCTAssertTrue(server.kernelSends)
            XCTAssertEqual(kernel.version, 0x0303)
            XCTAssertEqual(kernel.firstSequence, 0)
            XCTAssertEqual(kernel.sealedTypes.first, 22, "the server's Finished, a handshake record")
            try exchange(client: client, server: server, serverFD: serverFD, kernel: kernel, rounds: 2)
        }
        XCTAssertEqual(kernel.failures, [])
    }

    /// A TLS 1.3 client asking for a key update (KeyUpdate, update_requested):
    /// OpenSSL would answer with its own KeyUpdate on its next SSL_write and then
    /// re-key its records only (3.0 cannot re-key the kernel), which would leave
    /// the client unable to read what follows. A kernel-TLS connection never
    /// calls SSL_write, so no answer goes and the kernel's keys stay the ones the
    /// client reads with: later responses still arrive.
    func testAClientsKeyUpdateRequestLeavesTheKernelsKeysReadable() throws {
        let (server, kernel, serverFD, clientFD) = try serverWithSimulatedKernel()
        try withPlainClient(fd: clientFD, maxVersion: TLS1_3_VERSION, server: server, kernel: kernel) { client in
            XCTAssertTrue(server.kernelSends)
            try exchange(client: client, server: server, serverFD: serverFD, kernel: kernel, rounds: 1)
            XCTAssertEqual(SSL_key_update(client, SSL_KEY_UPDATE_REQUESTED), 1)
            XCTAssertEqual(SSL_get_key_update_type(client), SSL_KEY_UPDATE_REQUESTED)
            try exchange(client: client, server: server, serverFD: serverFD, kernel: kernel, rounds: 2)
            XCTAssertEqual(SSL_get_key_update_type(client), SSL_KEY_UPDATE_NONE, "the KeyUpdate went with the first request")
        }
        XCTAssertEqual(kernel.sealedTypes.filter { $0 == 22 }.count, 1, "the ticket only: no KeyUpdate went through the kernel")
        XCTAssertEqual(kernel.failures, [])
    }

    /// A plain OpenSSL client (no more than `maxVersion`) on `fd`, its handshake
    /// with `server` done through the simulated kernel, handed to `body`.
    private func withPlainClient(fd: Int32, maxVersion: Int32, server: TLSSession, kernel: SimulatedKernel,
                                 _ body: (OpaquePointer) throws -> Void) throws {
        let ctx = try XCTUnwrap(SSL_CTX_new(TLS_client_method()))
        defer { SSL_CTX_free(ctx) }
        // SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl.
        XCTAssertEqual(SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(maxVersion), nil), 1)
        let client = try XCTUnwrap(SSL_new(ctx))
        defer { SSL_free(client) }
        XCTAssertEqual(SSL_set_fd(client, fd), 1)
        SSL_set_connect_state(client)
        var connected = false
        for _ in 0..<100 where !(server.isEstablished && connected) {
            connected = connected || SSL_do_handshake(client) == 1
            kernel.toServer()
            server.socketSignalled()  // as the worker does on every epoll event of the socket
            _ = server.handshake()
            kernel.toClient()
        }
        XCTAssertTrue(server.isEstablished && connected)
        try body(client)
    }

    /// Requests from the plain client, read by the server in user space, and
    /// responses written by the transport through the kernel, read by the client.
    private func exchange(client: OpaquePointer, server: TLSSession, serverFD: Int32, kernel: SimulatedKernel, rounds: Int) throws {
        let scratchBuffer = UnsafeMutableRawPointer.allocate(byteCount: TLSTransport.recordBytes, alignment: 16)
        defer { scratchBuffer.deallocate() }
        var transport = TLSTransport(session: server, fd: serverFD, scratch: scratchBuffer, batch: TLSRecordBatch())
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        for round in 0..<rounds {
            let request = Array("GET /\(round) HTTP/1.1\r\n\r\n".utf8)
            XCTAssertEqual(request.withUnsafeBytes { SSL_write(client, $0.baseAddress, Int32($0.count)) }, Int32(request.count))
            kernel.toServer()
            var got: [UInt8] = []
            for _ in 0..<10 where got.count < request.count {
                server.socketSignalled()  // as the worker does on every epoll event of the socket
                if case .done(let n) = server.read(into: buffer, count: 65536) { got += UnsafeRawBufferPointer(start: buffer, count: n) }
            }
            XCTAssertEqual(got, request, "decrypted in user space")
            let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
            let result = try response.withUnsafeBytes { r in
                try IOVectors.with(capacity: 1) { iov -> IOResult<Int> in
                    iov.append(r.baseAddress!, count: r.count)
                    return try transport.write(iov)
                }
            }
            XCTAssertEqual(result, .processed(response.count))
            kernel.toClient()
            var answer: [UInt8] = []
            for _ in 0..<10 where answer.count < response.count {
                let n = SSL_read(client, buffer, 65536)
                if n > 0 { answer += UnsafeRawBufferPointer(start: buffer, count: Int(n)) }
            }
            XCTAssertEqual(answer, response, "round \(round)")
        }
    }

    /// A kernel that refuses the keys (setsockopt fails): the session stays in user space and works.
    func testRefusedKeysLeaveTheSessionInUserSpace() throws {
        let (serverFD, clientFD) = socketPair()
        defer { close(serverFD); close(clientFD) }
        var offered = 0
        let transmit = KernelTLSTransmit(enable: { _, _ in offered += 1; throw SystemError(call: "setsockopt(TCP_ULP, tls)", errno: ENOENT) },
                                         sendRecord: { _, _, _ in XCTFail("no control record without kernel TLS"); return .wouldBlock })
        let server = try XCTUnwrap(TLSSession(server: TLSSiteCertificates(defaultContext: certificate()), fd: serverFD,
                                              counters: nil, kernel: transmit))
        let client = try XCTUnwrap(TLSClientContext(caFile: nil, verify: false).session(fd: clientFD, serverName: "localhost", origin: "refused"))
        for _ in 0..<100 where !(server.isEstablished && client.isEstablished) {
            _ = client.handshake()
            server.socketSignalled()  // as the worker does on every epoll event of the socket
            _ = server.handshake()
        }
        XCTAssertTrue(server.isEstablished && client.isEstablished)
        XCTAssertEqual(offered, 1, "OpenSSL offered the write keys once")
        XCTAssertFalse(server.kernelSends)
        let response = Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)
        _ = response.withUnsafeBytes { server.write($0.baseAddress!, count: $0.count) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        var got: [UInt8] = []
        for _ in 0..<10 where got.count < response.count {
            if case .done(let n) = client.read(into: buffer, count: 4096) { got += UnsafeRawBufferPointer(start: buffer, count: n) }
        }
        XCTAssertEqual(got, response)
    }

    /// A server session whose kernel is a `SimulatedKernel` between its socket and
    /// the client's (`clientFD`); the descriptors close when the test ends.
    private func serverWithSimulatedKernel() throws -> (TLSSession, SimulatedKernel, serverFD: Int32, clientFD: Int32) {
        let (serverFD, kernelServerSide) = socketPair()
        let (clientFD, kernelClientSide) = socketPair()
        addTeardownBlock { for fd in [serverFD, kernelServerSide, clientFD, kernelClientSide] { close(fd) } }
        let kernel = SimulatedKernel(serverSide: kernelServerSide, clientSide: kernelClientSide)
        let transmit = KernelTLSTransmit(enable: { try kernel.enable($0, cryptoInfo: $1) },
                                         sendRecord: { kernel.sendRecord($0, type: $1, $2) })
        let server = try XCTUnwrap(TLSSession(server: TLSSiteCertificates(defaultContext: certificate()), fd: serverFD,
                                              counters: nil, kernel: transmit))
        return (server, kernel, serverFD, clientFD)
    }

    private func certificate() throws -> TLSContext { try TLSTestPeers.selfSignedContext(in: dir) }

    private func socketPair() -> (Int32, Int32) { TLSTestPeers.socketPair() }
}
