import CapuchinSystem

/// A TLS listener's current certificates. Workers take the current set for
/// each new connection (one short lock per accepted connection); a reload
/// replaces it, so new handshakes use the new certificates at once while open
/// connections keep the set (and SSL_CTX) they started with.
public final class TLSCertificateStore: @unchecked Sendable { // safe: `current` is only reached under its lock
    private let current: Lock<TLSSiteCertificates>

    /// The listener's kernel TLS (`ktls: auto` where the kernel offers it); nil: records encrypted in user space.
    public let kernelTransmit: KernelTLSTransmit?

    public init(_ initial: TLSSiteCertificates, kernelTransmit: KernelTLSTransmit? = nil) {
        current = Lock(initial)
        self.kernelTransmit = kernelTransmit
    }

    public var certificates: TLSSiteCertificates { current.withLock { $0 } }

    public func replace(with new: TLSSiteCertificates) { current.withLock { $0 = new } }
}
