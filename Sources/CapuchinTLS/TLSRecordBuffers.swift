import COpenSSL

/// OpenSSL's record buffers come from a pool per thread (one per worker; see
/// COpenSSL/record_pool.h): sessions keep SSL_MODE_RELEASE_BUFFERS, so an idle
/// connection holds no record buffer, while a busy one gets its read and write
/// buffers back from the pool on every request instead of from glibc's bins.
/// OpenSSL accepts the allocator only before its first allocation: every
/// CapuchinTLS entry that can be first (contexts, ticket keys, the version)
/// touches `isPooling` before calling OpenSSL.
public enum TLSRecordBuffers {
    /// The pool is in use (false: OpenSSL had allocated before, plain malloc).
    public static let isPooling: Bool = cap_record_pool_install() == 1

    /// This thread's counts: buffers handed out from the pool, buffers that
    /// needed malloc, buffers held for reuse (at most 8).
    public static var reusedOnThisThread: Int { Int(cap_record_pool_reused()) }
    public static var allocatedOnThisThread: Int { Int(cap_record_pool_allocated()) }
    public static var heldOnThisThread: Int { Int(cap_record_pool_held()) }
}
