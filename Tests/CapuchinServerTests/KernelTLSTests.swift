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
        // A plain OpenSSL client limited to TLS 1.2 (SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl).
        let ctx = try XCTUnwrap(SSL_CTX_new(TLS_client_method()))
        defer { SSL_CTX_free(ctx) }
        XCTAssertEqual(SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(TLS1_2_VERSION), nil), 1)
        let client = try XCTUnwrap(SSL_new(ctx))
        defer { SSL_free(client) }
        XCTAssertEqual(SSL_set_fd(client, clientFD), 1)
        SSL_set_connect_state(client)
        var connected = false
        for _ in 0..<100 where !(server.isEstablished && connected) {
            connected = connected || SSL_do_handshake(client) == 1
            kernel.toServer()
            _ = server.handshake()
            kernel.toClient()
        }
        XCTAssertTrue(server.isEstablished && connected)
        XCTAssertEqual(String(cString: SSL_get_version(client)), "TLSv1.2")
        XCTAssertTrue(server.kernelSends)
        XCTAssertEqual(kernel.version, 0x0303)
        XCTAssertEqual(kernel.firstSequence, 0)
        XCTAssertEqual(kernel.sealedTypes.first, 22, "the server's Finished, a handshake record")

        let scratchBuffer = UnsafeMutableRawPointer.allocate(byteCount: TLSTransport.recordBytes, alignment: 16)
        defer { scratchBuffer.deallocate() }
        var transport = TLSTransport(session: server, fd: serverFD, scratch: scratchBuffer, batch: TLSRecordBatch())
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        for round in 0..<2 {
            let request = Array("GET /\(round) HTTP/1.1\r\n\r\n".utf8)
            XCTAssertEqual(request.withUnsafeBytes { SSL_write(client, $0.baseAddress, Int32($0.count)) }, Int32(request.count))
            kernel.toServer()
            var got: [UInt8] = []
            if case .done(let n) = server.read(into: buffer, count: 65536) { got = Array(UnsafeRawBufferPointer(start: buffer, count: n)) }
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
        XCTAssertEqual(kernel.failures, [])
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

/// Linux's tls_sw with AES-128-GCM, in a test: between the server's socket
/// and the client's. Until the keys arrive it passes the handshake's
/// ciphertext through; afterwards what the server writes is plaintext and
/// leaves as application-data records (at most 16 KiB each), and `sendRecord`
/// seals one record of the type given. TLS 1.3: the plaintext and its type
/// byte, nonce = salt|iv XOR the 64-bit sequence, the 5-byte header as
/// additional data, the 16-byte tag appended. TLS 1.2: an explicit nonce
/// (`iv`, counted up per record) before the ciphertext, nonce = salt|explicit,
/// additional data = sequence|type|version|plaintext length.
private final class SimulatedKernel {
    let serverSide: Int32, clientSide: Int32
    private(set) var version: UInt16 = 0, cipherType: UInt16 = 0
    private(set) var firstSequence: UInt64?
    private(set) var sealedTypes: [UInt8] = []
    private(set) var plaintextBytes = 0
    private(set) var failures: [String] = []
    private var key: [UInt8]?
    private var iv: [UInt8] = []
    private var sequence: UInt64 = 0

    init(serverSide: Int32, clientSide: Int32) {
        self.serverSide = serverSide
        self.clientSide = clientSide
    }

    /// setsockopt(SOL_TLS, TLS_TX): struct tls12_crypto_info_aes_gcm_128 is
    /// {version u16, cipher_type u16, iv[8], key[16], salt[4], rec_seq[8]}.
    func enable(_ fd: Int32, cryptoInfo info: UnsafeRawBufferPointer) throws {
        toClient()  // what was written before the keys is ciphertext already
        version = info.loadUnaligned(fromByteOffset: 0, as: UInt16.self)
        cipherType = info.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
        guard cipherType == 51, info.count == 40, version == 0x0304 || version == 0x0303 else {
            throw SystemError(call: "setsockopt(SOL_TLS, TLS_TX)", errno: EINVAL)
        }
        let bytes = Array(info)
        key = Array(bytes[12..<28])
        iv = Array(bytes[28..<32]) + Array(bytes[4..<12])  // salt, then the 8 bytes OpenSSL calls iv
        sequence = bytes[32..<40].reduce(0) { $0 << 8 | UInt64($1) }
        firstSequence = sequence
    }

    /// sendmsg with TLS_SET_RECORD_TYPE: after what the server wrote before, one record.
    func sendRecord(_ fd: Int32, type: UInt8, _ bytes: UnsafeRawBufferPointer) -> IOResult<Int> {
        toClient()
        seal(type: type, Array(bytes))
        return .processed(bytes.count)
    }

    /// What the server wrote, to the client: passed through before the keys, sealed after.
    func toClient() {
        let bytes = drain(serverSide)
        guard !bytes.isEmpty else { return }
        if key == nil { push(bytes, to: clientSide); return }
        plaintextBytes += bytes.count
        var i = 0
        while i < bytes.count {
            let n = min(16384, bytes.count - i)
            seal(type: 23, Array(bytes[i..<i + n]))
            i += n
        }
    }

    /// What the client wrote, to the server (receiving is not the kernel's here).
    func toServer() { push(drain(clientSide), to: serverSide) }

    private func seal(type: UInt8, _ plaintext: [UInt8]) {
        guard let key else { failures.append("a record before the keys"); return }
        sealedTypes.append(type)
        let sequenceBytes = (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64($0))) }
        sequence += 1
        let inner: [UInt8], header: [UInt8], aad: [UInt8], explicit: [UInt8]
        var nonce = iv
        if version == 0x0304 {
            inner = plaintext + [type]
            let length = inner.count + 16
            header = [23, 3, 3, UInt8(length >> 8), UInt8(length & 0xff)]
            aad = header
            explicit = []
            for i in 0..<8 { nonce[4 + i] ^= sequenceBytes[i] }
        } else {
            inner = plaintext
            let length = 8 + inner.count + 16
            header = [type, 3, 3, UInt8(length >> 8), UInt8(length & 0xff)]
            aad = sequenceBytes + [type, 3, 3, UInt8(inner.count >> 8), UInt8(inner.count & 0xff)]
            explicit = Array(iv[4..<12])
            // The next record's explicit nonce: the 8 bytes counted up, big-endian.
            var i = 11
            while i >= 4 { iv[i] &+= 1; if iv[i] != 0 { break }; i -= 1 }
        }
        var sealed = [UInt8](repeating: 0, count: inner.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let ctx = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(ctx) }
        var n: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nil, key, nonce) == 1,
              EVP_EncryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) == 1,
              EVP_EncryptUpdate(ctx, &sealed, &n, inner, Int32(inner.count)) == 1,
              EVP_EncryptFinal_ex(ctx, &tag, &n) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, &tag) == 1 else {
            failures.append("EVP")
            return
        }
        push(header + explicit + sealed + tag, to: clientSide)
    }

    private func drain(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return out }
            out += chunk[0..<n]
        }
    }

    private func push(_ bytes: [UInt8], to fd: Int32) {
        var i = 0
        while i < bytes.count {
            let n = bytes[i...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { failures.append("socket full"); return }
            i += n
        }
    }
}
