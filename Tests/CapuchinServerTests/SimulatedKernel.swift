import CapuchinSystem
import COpenSSL
import Glibc

/// Linux's tls_sw with AES-128-GCM, in a test: between the server's socket
/// and the client's. Until the keys arrive it passes the handshake's
/// ciphertext through; afterwards what the server writes is plaintext and
/// leaves as application-data records (at most 16 KiB each), and `sendRecord`
/// seals one record of the type given. TLS 1.3: the plaintext and its type
/// byte, nonce = salt|iv XOR the 64-bit sequence, the 5-byte header as
/// additional data, the 16-byte tag appended. TLS 1.2: an explicit nonce
/// (`iv`, counted up per record) before the ciphertext, nonce = salt|explicit,
/// additional data = sequence|type|version|plaintext length.
final class SimulatedKernel {
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
