import CapuchinSystem
import COpenSSL

/// The proxy's side of TLS to an origin: TLS 1.2+, the peer's certificate
/// verified against the system store (or a CA file) and its name checked
/// against the host the proxy connects to, SNI set to it. One per pool,
/// shared by every worker. Sessions are resumed per origin (nginx's
/// `proxy_ssl_session_reuse`): the last session (TLS 1.3: ticket) each origin
/// gave is offered by the next connection to it, so a new upstream connection
/// costs an abbreviated handshake.
public final class TLSClientContext: @unchecked Sendable { // safe: the SSL_CTX is not changed after init; `sessions` is behind its lock
    let ctx: OpaquePointer
    public let verifies: Bool
    /// Origin ("sni@host:port") to its latest resumable SSL_SESSION*, owned here.
    private let sessions = Lock([String: OpaquePointer]())
    /// Origins remembered at most (one session each).
    static let maxOrigins = 1024
    /// Upstream handshakes of every client context (`/api/stats` `upstream_tls`).
    public static let counters = TLSCounters()

    /// `caFile` nil: the system's trust store. `verify` false: no checks (tests of the refusal only).
    /// Throws `TLSError` naming the CA file and OpenSSL's reason.
    public init(caFile: String?, verify: Bool = true) throws {
        _ = TLSRecordBuffers.isPooling  // before OpenSSL's first allocation
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
        _ = cap_ssl_ctx_client_sessions_external(ctx)
        SSL_CTX_sess_set_new_cb(ctx) { ssl, session in
            guard let ssl, let session, let raw = SSL_get_ex_data(ssl, 0) else { return 0 }
            return Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue().clientSessionReceived(session) ? 1 : 0
        }
    }

    // Also runs when init throws after `ctx` was set: the one place it is freed.
    deinit {
        sessions.withLock { for s in $0.values { SSL_SESSION_free(s) } }
        SSL_CTX_free(ctx)
    }

    /// A client session on a connected socket to `serverName`; `origin` ("host:port")
    /// keys the session it resumes and the one it leaves for the next connection.
    public func session(fd: Int32, serverName: String, origin: String) -> TLSSession? {
        TLSSession(client: self, fd: fd, serverName: serverName, resumptionKey: serverName + "@" + origin)
    }

    /// Offers the origin's remembered session on `ssl`, if it can still be resumed.
    func offerSession(_ ssl: OpaquePointer, key: String) {
        sessions.withLock { s in
            guard let session = s[key] else { return }
            if SSL_SESSION_is_resumable(session) == 1 { _ = SSL_set_session(ssl, session) }  // takes its own reference
        }
    }

    /// A new session (ticket) from the origin: kept for the next connection
    /// (the previous one is dropped). Takes `session`'s reference.
    func remember(_ session: OpaquePointer, key: String) {
        let dropped: OpaquePointer? = sessions.withLock { s in
            if let old = s[key] { s[key] = session; return old }
            if s.count >= Self.maxOrigins, let any = s.first { s[any.key] = nil; s[key] = session; return any.value }
            s[key] = session
            return nil
        }
        if let dropped { SSL_SESSION_free(dropped) }
    }
}
