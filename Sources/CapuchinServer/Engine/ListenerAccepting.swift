import CapuchinSystem
import CapuchinTLS

/// A listening socket as an event loop or the fair acceptor holds it.
struct ListenerSocket {
    var fd: Int32
    var port: Int
    /// Requests on a plugin's own listener go only to that plugin.
    var pluginIndex: Int?
    /// A TLS listener's certificates; nil: plain HTTP.
    var tls: TLSCertificateStore?
    /// Shared with the other workers (`balance: shared`): registered with EPOLLEXCLUSIVE.
    var exclusive = false
    /// Taken out of epoll while the process is out of descriptors.
    var paused = false

    /// The epoll events it is registered for.
    var events: UInt32 { exclusive ? Epoll.readable | Epoll.exclusive : Epoll.readable }
}

/// Accepts on a listener until it would block, with the one out-of-descriptors
/// routine the workers and the fair acceptor share.
struct ListenerAccepting {
    enum Outcome: Equatable {
        case drained
        /// EMFILE/ENFILE: one pending connection was shed; `mustPause` when no
        /// reserve descriptor is left (take the listener out of epoll until later,
        /// or the loop would spin on it).
        case outOfDescriptors(mustPause: Bool)
    }

    private var reserve = DescriptorReserve()
    /// Accepts per readiness event, so one busy listener cannot starve the loop.
    static let batch = 64

    /// Accepts up to `batch` connections from `listener`, handing each and its peer to `adopt`.
    mutating func acceptBatch(_ listener: Int32, _ adopt: (Int32, PeerAddress) -> Void) -> Outcome {
        var peer = PeerAddress(host: "-", port: 0)
        for _ in 0..<Self.batch {
            do {
                switch try Socket.accept(listener, peer: &peer) {
                case .wouldBlock: return .drained
                case .processed(let fd): adopt(fd, peer)
                }
            } catch let e as SystemError where e.isOutOfDescriptors {
                return .outOfDescriptors(mustPause: shedOne(listener))
            } catch {
                continue  // ECONNABORTED and the like: the next one may be fine
            }
        }
        return .drained
    }

    /// Frees the reserve, accepts and closes one pending connection so the
    /// listener stops firing, then takes the reserve back. True when the
    /// reserve could not be taken back.
    private mutating func shedOne(_ listener: Int32) -> Bool {
        if reserve.isHeld {
            reserve.release()
            if case .processed(let fd)? = try? Socket.accept(listener) { FileIO.close(fd) }
            reserve.retake()
        }
        return !reserve.isHeld
    }
}
