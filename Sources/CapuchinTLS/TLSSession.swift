import COpenSSL

/// One TLS connection (an SSL*) over a non-blocking socket: OpenSSL reads the
/// descriptor itself (a server's writes go through TLSSession+Records), and every call returns at once:
/// a want-read or want-write is a result the event loop maps onto epoll
/// interest, never a wait. Server sessions pick their certificate by SNI from
/// the listener's `TLSSiteCertificates`; client sessions (the proxy's origins)
/// verify the peer (`TLSClientContext`). Not thread-safe: one loop owns it.
public final class TLSSession {
    public enum Result: Equatable {
        /// Bytes moved (0 from `handshake`: established).
        case done(Int)
        case wantRead
        case wantWrite
        /// The peer closed (close_notify or end of stream).
        case closed
        /// A protocol or verification error, with OpenSSL's reason.
        case failed(String)
    }

    @usableFromInline let ssl: OpaquePointer
    let fd: Int32
    private let certificates: TLSSiteCertificates?
    private let counters: TLSCounters?
    public private(set) var isEstablished = false
    /// The handshake failed because the client spoke plain HTTP (nginx's "plain HTTP request was sent to HTTPS port").
    public private(set) var receivedPlainHTTP = false
    private var failed = false
    /// The worker's batch, lent between `beginBatch` and `endBatch`
    /// (TLSSession+Records); unretained: a stored reference was retained and
    /// released with every record.
    var batch: Unmanaged<TLSRecordBatch>?
    /// Ciphertext the socket did not take yet, from `pendingStart`.
    var pending: [UInt8] = []
    var pendingStart = 0
    /// Plaintext bytes a transport already encrypted but reported as not yet
    /// written, so that its caller waits for the socket while `pending` drains;
    /// the caller offers them again and the transport skips them.
    public var heldBackBytes = 0
    /// Kernel TLS (TLSSession+KernelTLS): the kernel offered the keys to, whether it
    /// took them (then responses are written on the socket as plaintext), and the
    /// type of the control record OpenSSL announced for its next write.
    let kernel: KernelTLSTransmit?
    public internal(set) var kernelSends = false
    var controlRecordType: UInt8?
    /// A client session's context and the key its origin's sessions are remembered under.
    private var client: (context: TLSClientContext, key: String)?

    /// A server session on an accepted socket; with `kernel`, its records are
    /// handed to the kernel once the handshake's keys are set (TLSSession+KernelTLS).
    /// nil when OpenSSL cannot allocate one.
    public init?(server certificates: TLSSiteCertificates, fd: Int32, counters: TLSCounters?, kernel: KernelTLSTransmit? = nil) {
        guard let ssl = SSL_new(certificates.defaultContext.ctx) else { return nil }
        self.ssl = ssl
        self.fd = fd
        self.certificates = certificates
        self.counters = counters
        self.kernel = kernel
        SSL_set_accept_state(ssl)
        // Read whole socket buffers, not record header then body: one read(2) per batch.
        SSL_set_read_ahead(ssl, 1)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        // Reads from the socket; records written go through the batching BIO (TLSSession+Records).
        guard installSocketReadBIO() else { return nil }
        if kernel != nil {
            guard installKernelTLSBIOs() else { return nil }
            return
        }
        guard installRecordBIO() else { return nil }
    }

    /// A client session on a connected socket, sending `serverName` as SNI and verifying it,
    /// resuming the session last remembered under `resumptionKey`.
    init?(client context: TLSClientContext, fd: Int32, serverName: String, resumptionKey: String) {
        guard let ssl = SSL_new(context.ctx) else { return nil }
        self.ssl = ssl
        self.fd = fd
        certificates = nil
        counters = TLSClientContext.counters
        kernel = nil
        client = (context, resumptionKey)
        SSL_set_connect_state(ssl)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        context.offerSession(ssl, key: resumptionKey)
        // An address literal is not sent as SNI (RFC 6066) and is checked against the certificate's IP names.
        let isAddress = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
        if !serverName.isEmpty && !isAddress {
            _ = cap_ssl_set_tlsext_host_name(ssl, serverName)
        }
        if context.verifies {
            // Hostname (or IP address) checked against the certificate's names.
            if isAddress {
                _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
            } else {
                _ = SSL_set1_host(ssl, serverName)
            }
        }
        guard SSL_set_fd(ssl, fd) == 1 else { return nil }
    }

    deinit {
        if certificates != nil && !isEstablished && !failed { counters?.handshakeFailed(reason: "closed during the handshake") }
        SSL_free(ssl)
    }

    /// A client session got a session (TLS 1.3: a ticket) from the origin: remembered
    /// for the next connection. true: the reference was taken.
    func clientSessionReceived(_ session: OpaquePointer) -> Bool {
        guard let client, SSL_SESSION_is_resumable(session) == 1 else { return false }
        client.context.remember(session, key: client.key)
        return true
    }

    /// SNI seen (OpenSSL's servername callback): switch to that name's certificate.
    func serverNameReceived() {
        guard let certificates else { return }
        let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
        let chosen = certificates.context(for: name)
        if chosen !== certificates.defaultContext { _ = SSL_set_SSL_CTX(ssl, chosen.ctx) }
    }

    /// The last handshake step waits for input (else for the socket to be writable).
    public private(set) var handshakeWantsRead = false

    /// Advances the handshake; `.done(0)` once established.
    public func handshake() -> Result {
        if isEstablished { return .done(0) }
        let r = SSL_do_handshake(ssl)
        if r == 1 {
            isEstablished = true
            if let counters {
                let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "-"
                counters.handshakeCompleted(resumed: SSL_session_reused(ssl) == 1,
                                            protocolName: String(cString: SSL_get_version(ssl)), cipher: cipher)
            }
            return .done(0)
        }
        let result = outcome(r)
        handshakeWantsRead = result == .wantRead
        if case .failed(let reason) = result {
            failed = true
            receivedPlainHTTP = reason == "http request"
            counters?.handshakeFailed(reason: reason)
        } else if result == .closed {
            failed = true
            counters?.handshakeFailed(reason: "closed during the handshake")
        }
        return result
    }

    /// Decrypted bytes into `buffer` (one record's worth at most per call).
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Result {
        var n = 0
        let r = SSL_read_ex(ssl, buffer, count, &n)
        return r == 1 ? .done(n) : outcome(r)
    }

    /// Encrypts and sends up to one record of `bytes` (partial-write mode).
    /// After `.wantWrite` the same bytes must be offered again (a longer run is fine).
    @inline(__always)
    public func write(_ bytes: UnsafeRawPointer, count: Int) -> Result {
        var n = 0
        let r = SSL_write_ex(ssl, bytes, count, &n)
        return r == 1 ? .done(n) : outcome(r)
    }

    /// Decrypted input OpenSSL holds that the socket will not signal again (read-ahead).
    public var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    /// The ALPN protocol agreed ("http/1.1"), if any.
    public var negotiatedProtocol: String? {
        var p: UnsafePointer<UInt8>?
        var n: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &p, &n)
        guard let p, n > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(n)), as: UTF8.self)
    }

    /// Sends close_notify, best effort (never waits); once (a second SSL_shutdown
    /// would read, for the peer's).
    public func shutdown() {
        guard isEstablished, !failed, SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN == 0 else { return }
        _ = SSL_shutdown(ssl)
        _ = TLSError.drainReasons()
    }

    private func outcome(_ r: Int32) -> Result {
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let reasons = TLSError.drainReasons()
            // SSL_OP_IGNORE_UNEXPECTED_EOF: an end of stream is ZERO_RETURN; this is a socket error.
            return reasons.isEmpty ? .closed : .failed(reasons[0])
        default:
            let reasons = TLSError.drainReasons()
            if !isEstablished, SSL_get_verify_result(ssl) != X509_V_OK {
                return .failed("certificate verify failed: " + String(cString: X509_verify_cert_error_string(SSL_get_verify_result(ssl))))
            }
            return .failed(reasons.first ?? "TLS error")
        }
    }
}
