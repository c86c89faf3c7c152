import CapuchinSystem
import CapuchinTLS

/// HTTP/1 over TLS: the same `Transport` the plain socket is, so
/// `HTTP1Connection` and `OutputQueue` do not change. The handshake runs
/// inside the first reads (a want-write, there or in a write, sets
/// `wantsWritable`, which the worker maps onto epoll interest). Writes gather
/// small ranges (a response head, a small body, and of a large body only what
/// is not a whole number of records) into one record of up to 16 KiB in the
/// worker's scratch buffer; the rest of a large range (a cached body's mapping)
/// is encrypted straight from memory. A 1 KiB hit is one SSL_write, a 16 KiB
/// hit two, with no copy of the body beyond OpenSSL's encryption. The records
/// of one call are gathered in the worker's `TLSRecordBatch` and leave with one
/// send(2) (a 16 KiB hit was two sends and two TCP segments); the last
/// response of a closing connection takes its close_notify in the same send
/// (`closesAfter`). Files are read with pread into the scratch buffer and encrypted.
///
/// Kernel TLS (`session.kernelSends`: the kernel took the write keys at the
/// end of the handshake): writes are the plain socket's, writev of the ranges
/// (a cached body straight from its mapping) and sendfile of files, and the
/// kernel makes the records; OpenSSL only sends its own control records.
///
/// Built once per connection by the worker around its session and kept in the
/// `ClientSocket` (built per call, it retained and released its references).
struct TLSTransport: Transport {
    /// A TLS record's largest plaintext.
    static let recordBytes = 16 << 10

    let session: TLSSession
    let fd: Int32
    /// The worker's `recordBytes` of scratch (gathering and file reads).
    let scratch: UnsafeMutableRawPointer
    /// The worker's buffer the records of one write are gathered in, to leave with one send(2).
    let batch: TLSRecordBatch
    /// Set when the handshake or a write needs the socket writable.
    var wantsWritable = false
    /// Plaintext bytes left before the output ends (`closesAfter`); nil: not ending.
    private var closeAfterBytes: Int?

    /// The answer to plain HTTP on a TLS port (nginx answers the same 400).
    static let plainHTTPReply: [UInt8] = Array(("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n"
        + "Connection: close\r\n\r\nThe plain HTTP request was sent to HTTPS port\n").utf8)

    init(session: TLSSession, fd: Int32, scratch: UnsafeMutableRawPointer, batch: TLSRecordBatch) {
        self.session = session
        self.fd = fd
        self.scratch = scratch
        self.batch = batch
    }

    mutating func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> IOResult<Int> {
        if !session.isEstablished {
            switch session.handshake() {
            case .done: break
            case .wantRead: return .wouldBlock
            case .wantWrite: wantsWritable = true; return .wouldBlock
            case .closed: return .processed(0)
            case .failed(let reason):
                if session.receivedPlainHTTP {
                    Self.plainHTTPReply.withUnsafeBytes { _ = try? Socket.send(fd, $0) }
                    Socket.shutdownWrite(fd)
                }
                throw TLSError("TLS handshake: \(reason)")
            }
        }
        var total = 0
        while total < count {
            switch session.read(into: buffer + total, count: count - total) {
            case .done(let n):
                total += n
                // Read-ahead took what the socket had: stop here rather than pay a
                // read(2) that can only say EAGAIN (epoll reports what comes next).
                if !session.hasBufferedInput { return .processed(total) }
            case .wantRead: return total > 0 ? .processed(total) : .wouldBlock
            case .wantWrite:
                wantsWritable = true
                return total > 0 ? .processed(total) : .wouldBlock
            case .closed: return .processed(total)
            case .failed(let reason):
                if total > 0 { return .processed(total) }
                throw TLSError("TLS read: \(reason)")
            }
        }
        return .processed(total)
    }

    mutating func write(_ vectors: IOVectors) throws -> IOResult<Int> {
        if session.kernelSends { return try vectors.write(to: fd) }
        guard let skip = try beginBatch() else { return .wouldBlock }
        var written = 0
        var index = 0
        var offset = 0  // within vectors[index]
        // Skip what the last call encrypted but held back (see `finishBatch`).
        var k = skip
        while k > 0 && index < vectors.count {
            let r = vectors[index].count - offset
            if k < r { offset += k; written += k; k = 0 } else { k -= r; written += r; index += 1; offset = 0 }
        }
        while index < vectors.count {
            let range = vectors[index]
            let left = range.count - offset
            if left == 0 { index += 1; offset = 0; continue }
            let step: TLSSession.Result
            if left >= Self.recordBytes {
                // Straight from the range (a mapping): one record per call.
                step = session.write(range.baseAddress! + offset, count: left)
            } else {
                // Gather this and the following ranges into one record. From a large
                // range (a cached body) only its remainder modulo the record size is
                // taken, so the rest is whole records encrypted in place: a head and a
                // 16 KiB body are 2 records without copying the body, a 1 KiB one 1 record.
                var n = 0
                var i = index, o = offset
                while i < vectors.count && n < Self.recordBytes {
                    let r = vectors[i]
                    let rest = r.count - o
                    var k = min(rest, Self.recordBytes - n)
                    let large = n > 0 && rest >= Self.recordBytes
                    if large && rest % Self.recordBytes <= Self.recordBytes - n { k = rest % Self.recordBytes }
                    if k > 0 { (scratch + n).copyMemory(from: r.baseAddress! + o, byteCount: k) }
                    n += k
                    o += k
                    if o == r.count { i += 1; o = 0 }
                    if large { break }
                }
                step = session.write(scratch, count: n)
            }
            guard let n = try taken(step) else { break }
            written += n
            // Advance over n bytes of the ranges.
            var k = n
            while k > 0 {
                let r = vectors[index].count - offset
                if k < r { offset += k; k = 0 } else { k -= r; index += 1; offset = 0 }
            }
        }
        return try finishBatch(written)
    }

    mutating func write(_ vectors: IOVectors, beforeFile: Bool) throws -> IOResult<Int> {
        if session.kernelSends { return try vectors.write(to: fd, more: beforeFile) }
        return try write(vectors)
    }

    mutating func send(file: OpenFile, offset: Int, count: Int) throws -> IOResult<Int> {
        if session.kernelSends { return try FileIO.sendfile(socket: fd, file: file.fd, offset: offset, count: count) }
        guard var sent = try beginBatch() else { return .wouldBlock }
        while sent < count {
            let want = min(Self.recordBytes, count - sent)
            let got = try FileIO.pread(file.fd, into: scratch, count: want, offset: offset + sent)
            if got == 0 { break }
            guard let n = try taken(session.write(scratch, count: got)) else { break }
            sent += n
        }
        return try finishBatch(sent)
    }

    /// Sends ciphertext an earlier call left and starts gathering this call's
    /// records in the worker's batch. Returns the leading bytes to skip (already
    /// encrypted), nil while earlier ciphertext still waits for the socket.
    private mutating func beginBatch() throws -> Int? {
        guard try session.sendPending() else {
            wantsWritable = true
            return nil
        }
        let skip = session.heldBackBytes
        session.heldBackBytes = 0
        session.beginBatch(batch)
        return skip
    }

    /// Sends the gathered records with one send(2). When the socket does not
    /// take them all, the last plaintext byte is reported as unwritten (held
    /// back), so the connection waits for writability and offers it again.
    private mutating func finishBatch(_ written: Int) throws -> IOResult<Int> {
        var written = written
        if let left = closeAfterBytes {
            // The last byte is encrypted: close_notify joins this batch (Worker's close then sends none).
            if written >= left { closeAfterBytes = nil; session.shutdown() } else { closeAfterBytes = left - written }
        }
        if try !session.endBatch() {
            wantsWritable = true
            if written > 0 {
                session.heldBackBytes = 1
                written -= 1
            }
        }
        return written == 0 && wantsWritable ? .wouldBlock : .processed(written)
    }

    /// The bytes one SSL_write took; nil when the socket must become writable
    /// first (the same bytes are offered again then). Throws `TLSError`.
    private mutating func taken(_ step: TLSSession.Result) throws -> Int? {
        switch step {
        case .done(let n): return n
        case .wantWrite, .wantRead:
            wantsWritable = true
            return nil
        case .closed: throw TLSError("TLS write: closed by the peer")
        case .failed(let reason): throw TLSError("TLS write: \(reason)")
        }
    }

    mutating func closesAfter(bytes: Int) { closeAfterBytes = bytes }

    mutating func shutdownOutput() {
        session.shutdown()
        Socket.shutdownWrite(fd)
    }
}
