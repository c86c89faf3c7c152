import COpenSSL

/// One server certificate (chain and key) in an SSL_CTX configured as the
/// project's TLS policy: TLS 1.2 and 1.3 only, Mozilla's "intermediate" cipher
/// list (ECDHE with AES-GCM or ChaCha20-Poly1305; no CBC, no RSA key exchange)
/// in the server's order,
/// ALPN http/1.1, no renegotiation, stateless session tickets from the
/// process-wide key ring (`TLSTicketKeys`), small idle memory
/// (SSL_MODE_RELEASE_BUFFERS, the buffers pooled per thread: TLSRecordBuffers). One context is shared by every worker: OpenSSL's
/// SSL_CTX is safe to create sessions from concurrently.
public final class TLSContext: @unchecked Sendable { // safe: the SSL_CTX and the staple are not changed after init; OpenSSL locks its own counters
    let ctx: OpaquePointer
    public let certificateFile: String
    public let keyFile: String
    /// The OCSP response file stapled to this certificate's handshakes, if configured.
    public let ocspFile: String?
    /// Why `ocspFile` is not stapled (does not load, not for this certificate,
    /// expired), naming the file; nil when it is or none is configured. The
    /// certificate is usable either way: the caller decides whether this is an error.
    public private(set) var ocspProblem: String?
    private var staple: TLSOCSPStaple?

    /// TLS 1.2 suites of Mozilla's intermediate profile (the DHE ones need
    /// parameters we do not ship, so ECDHE only).
    static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    static let groups = "X25519:P-256:P-384"
    /// Tickets and the session id context must agree across every context
    /// (SNI switches, reloads) for a ticket to resume.
    static let sessionContext = Array("capuchin".utf8)

    /// Loads a PEM certificate chain and its private key and checks that they
    /// belong together. Throws `TLSError` naming the file and OpenSSL's reason.
    /// `ocspFile`: a DER OCSP response to staple (see `ocspProblem`).
    public init(certificateFile: String, keyFile: String, ocspFile: String? = nil) throws {
        _ = TLSRecordBuffers.isPooling  // before OpenSSL's first allocation
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        self.ctx = ctx
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.ocspFile = ocspFile
        _ = TLSError.drainReasons()
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
            throw TLSError.fromQueue("cannot load the certificate chain from \(certificateFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL compares the key with the certificate as it loads it.
            let reasons = TLSError.drainReasons()
            if reasons.contains("key values mismatch") {
                throw TLSError("the key in \(keyFile) does not match the certificate in \(certificateFile)")
            }
            throw TLSError("cannot load the private key from \(keyFile)" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")))
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.fromQueue("the key in \(keyFile) does not match the certificate in \(certificateFile)")
        }
        try Self.applyPolicy(ctx)
        if let ocspFile, let leaf = SSL_CTX_get0_certificate(ctx) {
            do {
                staple = try TLSOCSPStaple(file: ocspFile, certificate: leaf)
            } catch let e as TLSError {
                ocspProblem = e.message
            }
            // Unretained: the callback lives in `ctx`, which this object frees.
            _ = cap_ssl_ctx_set_status_cb(ctx, { ssl, arg in
                guard let ssl, let arg else { return SSL_TLSEXT_ERR_NOACK }
                return Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue().staple(on: ssl)
            }, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// OpenSSL's status callback (the client asked for OCSP, after SNI picked this context).
    private func staple(on ssl: OpaquePointer) -> Int32 {
        guard let staple, staple.isCurrent else { return SSL_TLSEXT_ERR_NOACK }
        return staple.der.withUnsafeBufferPointer { cap_ssl_staple(ssl, $0.baseAddress, $0.count) } == 1
            ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK
    }

    deinit { SSL_CTX_free(ctx) }

    private static func applyPolicy(_ ctx: OpaquePointer) throws {
        guard cap_ssl_ctx_set_min_proto(ctx, cap_tls1_2_version()) == 1,
              SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1,
              SSL_CTX_set_ciphersuites(ctx, tls13Suites) == 1,
              cap_ssl_ctx_set_groups(ctx, groups) == 1 else {
            throw TLSError.fromQueue("cannot apply the TLS policy")
        }
        // The server's order (AES-128-GCM first: cheapest with AES-NI), except that a
        // client preferring ChaCha20 (no AES hardware) gets it; testssl.sh asks for a server order.
        _ = SSL_CTX_set_options(ctx, cap_op_no_renegotiation() | cap_op_no_compression() | cap_op_ignore_unexpected_eof()
                                     | cap_op_server_preference())
        _ = cap_ssl_ctx_set_mode(ctx, cap_mode_event_loop())
        // Stateless tickets only: no server-side session cache to lock and grow.
        _ = cap_ssl_ctx_session_cache_off(ctx)
        // One TLS 1.3 ticket per full handshake (OpenSSL's default is two): each
        // costs an encryption and an HMAC, and a client resumes with one.
        _ = SSL_CTX_set_num_tickets(ctx, 1)
        _ = sessionContext.withUnsafeBufferPointer { SSL_CTX_set_session_id_context(ctx, $0.baseAddress, UInt32($0.count)) }
        _ = cap_ssl_ctx_set_ticket_callback(ctx) { _, name, iv, cipher, mac, enc in
            guard let name, let iv, let cipher, let mac else { return -1 }
            return TLSTicketKeys.shared.callback(name: name, iv: iv, cipher: cipher, mac: mac, encrypt: enc == 1)
        }
        SSL_CTX_set_alpn_select_cb(ctx, { _, out, outLength, offered, offeredLength, _ in
            TLSContext.selectProtocol(out, outLength, offered, offeredLength)
        }, nil)
        _ = cap_ssl_ctx_set_servername_callback(ctx) { ssl, _, _ in
            guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return SSL_TLSEXT_ERR_OK }
            Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue().serverNameReceived()
            return SSL_TLSEXT_ERR_OK
        }
    }

    /// ALPN: http/1.1 when offered (the seam where h2 would be added); a client
    /// offering only other protocols goes on without ALPN, as curl and browsers expect.
    static let alpnProtocols: [UInt8] = [8] + Array("http/1.1".utf8)

    static func selectProtocol(_ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
                               _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32) -> Int32 {
        guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_NOACK }
        var i = 0
        let n = Int(offeredLength)
        while i < n {
            let len = Int(offered[i])
            if len == 8 && i + 1 + len <= n && (0..<8).allSatisfy({ offered[i + 1 + $0] == alpnProtocols[1 + $0] }) {
                out.pointee = offered + i + 1
                outLength.pointee = 8
                return SSL_TLSEXT_ERR_OK
            }
            i += 1 + len
        }
        return SSL_TLSEXT_ERR_NOACK
    }
}
