import CapuchinSystem
import Synchronization

/// TLS counters of the whole server (every worker, every TLS listener): completed
/// handshakes, how many resumed a session, failures by OpenSSL's reason, and
/// the protocol and cipher of completed handshakes. One short lock per
/// handshake (a handshake costs far more); nothing per request.
public final class TLSCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var handshakes = 0
        public var resumed = 0
        /// Reason ("wrong version number", "http request", "closed during the handshake") to count.
        public var failures: [String: Int] = [:]
        /// "TLSv1.3" to count.
        public var protocols: [String: Int] = [:]
        /// "TLS_AES_128_GCM_SHA256" to count.
        public var ciphers: [String: Int] = [:]

        public init() {}

        public var failureTotal: Int { failures.values.reduce(0, +) }
    }

    /// Distinct failure reasons kept (OpenSSL's reasons are a fixed set; this bounds it anyway).
    static let maxReasons = 64

    private let tallies = Lock(Snapshot())

    public init() {}

    public func snapshot() -> Snapshot { tallies.withLock { $0 } }

    func handshakeCompleted(resumed: Bool, protocolName: String, cipher: String) {
        tallies.withLock { t in
            t.handshakes += 1
            if resumed { t.resumed += 1 }
            t.protocols[protocolName, default: 0] += 1
            t.ciphers[cipher, default: 0] += 1
        }
    }

    func handshakeFailed(reason: String) {
        tallies.withLock { t in
            let key = t.failures[reason] != nil || t.failures.count < Self.maxReasons ? reason : "other"
            t.failures[key, default: 0] += 1
        }
    }
}
