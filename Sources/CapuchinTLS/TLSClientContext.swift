import COpenSSL

/// The proxy's side of TLS to an origin: TLS 1.2+, the peer's certificate
/// verified against the system store (or a CA file) and its name checked
/// against the host the proxy connects to, SNI set to it. One per pool,
/// shared by every worker.
public final class TLSClientContext: @unchecked Sendable { // safe: not changed after init
    let ctx: OpaquePointer
    public let verifies: Bool

    /// `caFile` nil: the system's trust store. `verify` false: no checks (tests of the refusal only).
    /// Throws `TLSError` naming the CA file and OpenSSL's reason.
    public init(caFile: String?, verify: Bool = true) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        self.ctx = ctx
        verifies = verify
        _ = cap_ssl_ctx_set_min_proto(ctx, cap_tls1_2_version())
        _ = SSL_CTX_set_options(ctx, cap_op_no_renegotiation() | cap_op_no_compression() | cap_op_ignore_unexpected_eof())
        _ = cap_ssl_ctx_set_mode(ctx, cap_mode_event_loop())
        if verify {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            if let caFile {
                guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                    throw TLSError.fromQueue("cannot load CA certificates from \(caFile)")
                }
            } else {
                _ = SSL_CTX_set_default_verify_paths(ctx)
            }
        }
        _ = TLSContext.alpnProtocols.withUnsafeBufferPointer { SSL_CTX_set_alpn_protos(ctx, $0.baseAddress, UInt32($0.count)) }
    }

    // Also runs when init throws after `ctx` was set: the one place it is freed.
    deinit { SSL_CTX_free(ctx) }

    /// A client session on a connected socket to `serverName`.
    public func session(fd: Int32, serverName: String) -> TLSSession? {
        TLSSession(client: self, fd: fd, serverName: serverName)
    }
}
