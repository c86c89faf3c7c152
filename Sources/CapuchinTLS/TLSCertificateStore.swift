import CapuchinSystem

/// A TLS listener's current certificates. Workers take the current set for
/// each new connection (one short lock per accepted connection); a reload
/// replaces it, so new handshakes use the new certificates at once while open
/// connections keep the set (and SSL_CTX) they started with.
public final class TLSCertificateStore: @unchecked Sendable { // safe: `current` is only reached under its lock
    private let current: Lock<TLSSiteCertificates>

    public init(_ initial: TLSSiteCertificates) { current = Lock(initial) }

    public var certificates: TLSSiteCertificates { current.withLock { $0 } }

    public func replace(with new: TLSSiteCertificates) { current.withLock { $0 = new } }
}
