import CapuchinSystem
import COpenSSL

/// A server session's BIOs. Reads: the socket, read(2) by OpenSSL, except
/// that after a short read (the socket's queue emptied) a read asks for a retry
/// without the syscall until the worker reports the socket readable again
/// (`socketSignalled`; COpenSSL's cap_bio_socket_read). Outgoing records:
/// OpenSSL writes them through a BIO of ours: between
/// `beginBatch` and `endBatch` records are appended to the worker's
/// `TLSRecordBatch` and leave with one send(2); otherwise (handshake, alerts,
/// close_notify) each is sent at once. Ciphertext the socket does not take is
/// kept in `pending` (already part of the TLS stream: it must go out before
/// anything else) and a record that cannot be placed is refused with a retry,
/// which OpenSSL turns into SSL_ERROR_WANT_WRITE.
extension TLSSession {
    /// The BIO method, created once for the process.
    static let recordMethod: OpaquePointer = {
        guard let m = BIO_meth_new(BIO_get_new_index() | cap_bio_type_records(), "capuchin records") else {
            fatalError("OpenSSL cannot allocate a BIO method")
        }
        _ = BIO_meth_set_write_ex(m) { bio, data, count, written in
            guard let bio, let data, let written, let raw = BIO_get_data(bio) else { return 0 }
            cap_bio_clear_retry(bio)
            // Borrowed: the session outlives its SSL and BIOs.
            let n = Unmanaged<TLSSession>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.place(record: data, count: count) }
            if n > 0 { written.pointee = n; return 1 }
            if n == 0 { cap_bio_set_retry_write(bio) }
            return 0
        }
        // OpenSSL flushes after each handshake flight: records already went out.
        _ = BIO_meth_set_ctrl(m, cap_bio_records_ctrl)
        return m
    }()

    /// The read BIO's method, created once for the process.
    static let socketReadsMethod: OpaquePointer = {
        guard let m = cap_bio_socket_reads_method() else { fatalError("OpenSSL cannot allocate a BIO method") }
        return m
    }()

    /// Installs the socket read BIO. false when OpenSSL cannot allocate it.
    func installSocketReadBIO() -> Bool {
        guard let reads = cap_bio_new_socket_reads(Self.socketReadsMethod, fd) else { return false }
        SSL_set0_rbio(ssl, reads)  // the SSL owns it
        return true
    }

    /// The event loop saw the socket readable (or hung up, or in error): the next
    /// read calls read(2) again. Level-triggered epoll reports input that comes
    /// while reads are skipped, so a loop that calls this on every event of the
    /// socket never waits on input already there.
    @inlinable
    public func socketSignalled() { cap_bio_socket_reads_signalled(SSL_get_rbio(ssl)) }

    /// Installs a BIO of `method` (this one, or the kernel-TLS one) as the
    /// session's write side. false when OpenSSL cannot allocate it.
    func installRecordBIO(_ method: OpaquePointer = recordMethod) -> Bool {
        guard let bio = BIO_new(method) else { return false }
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        BIO_set_init(bio, 1)
        SSL_set0_wbio(ssl, bio)  // the SSL owns it; freed by SSL_free before this object goes
        return true
    }

    /// Bytes of the record taken (the whole record), 0 to retry once the socket is writable, -1 on a socket error.
    func place(record: UnsafeRawPointer, count: Int) -> Int {
        guard (try? sendPending()) == true else { return pendingBytes > 0 ? 0 : -1 }
        if let lent = batch {
            let placed = lent._withUnsafeGuaranteedRef { batch -> Int? in
                if batch.count + count > batch.capacity {
                    guard (try? sendBatch(batch)) == true else { return pendingBytes > 0 ? 0 : -1 }
                }
                if count <= batch.capacity - batch.count {
                    (batch.base + batch.count).copyMemory(from: record, byteCount: count)
                    batch.count += count
                    return count
                }
                return nil
            }
            if let placed { return placed }
        }
        switch try? Socket.send(fd, UnsafeRawBufferPointer(start: record, count: count)) {
        case .processed(let n)?: return n
        case .wouldBlock?: return 0
        case nil: return -1
        }
    }

    /// Records from now on are gathered in `batch` (until `endBatch`).
    public func beginBatch(_ batch: TLSRecordBatch) {
        batch.count = 0
        self.batch = Unmanaged.passUnretained(batch)
    }

    /// Sends the gathered records. false: some ciphertext is pending (wait for
    /// the socket to be writable, then `sendPending`). Throws `SystemError`.
    public func endBatch() throws -> Bool {
        guard let lent = batch else { return pendingBytes == 0 }
        self.batch = nil
        return try lent._withUnsafeGuaranteedRef { try sendBatch($0) } && pendingBytes == 0
    }

    /// Ciphertext produced but not yet taken by the socket.
    public var pendingBytes: Int { pending.count - pendingStart }

    /// Sends pending ciphertext; true when none is left. Throws `SystemError`.
    public func sendPending() throws -> Bool {
        guard pendingBytes > 0 else { return true }
        let sent = try pending.withUnsafeBytes { raw -> Int in
            guard case .processed(let n) = try Socket.send(fd, UnsafeRawBufferPointer(rebasing: raw[pendingStart...])) else { return 0 }
            return n
        }
        pendingStart += sent
        if pendingStart < pending.count { return false }
        pending = []  // an idle connection keeps no buffer
        pendingStart = 0
        return true
    }

    /// One send of the batch; what it does not take is kept pending. true when all went.
    private func sendBatch(_ batch: TLSRecordBatch) throws -> Bool {
        defer { batch.count = 0 }
        guard batch.count > 0 else { return true }
        var sent = 0
        if pendingBytes == 0, case .processed(let n) = try Socket.send(fd, UnsafeRawBufferPointer(start: batch.base, count: batch.count)) {
            sent = n
        }
        if sent == batch.count { return true }
        pending.append(contentsOf: UnsafeRawBufferPointer(start: batch.base + sent, count: batch.count - sent))
        return false
    }
}
