import CapuchinSystem
import CapuchinTLS
import Synchronization

/// What other threads may touch of a worker: its wake-up eventfd, its inbox
/// of connections handed over by the fair acceptor, tasks other threads post
/// to run on it, and its counters.
final class WorkerMailbox: @unchecked Sendable {
    struct Handoff { var fd: Int32; var peer: PeerAddress; var localPort: Int; var pluginIndex: Int?; var tls: TLSCertificateStore? }

    let wake: EventFD
    let counters: LoopCounters
    private let inbox = Mutex<[Handoff]>([])
    private let tasks = Mutex<[@Sendable () -> Void]>([])

    /// Throws `SystemError` from eventfd.
    init(counters: LoopCounters) throws {
        wake = try EventFD()
        self.counters = counters
    }

    func post(_ h: Handoff) {
        inbox.withLock { $0.append(h) }
        wake.signal()
    }

    func post(task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        wake.signal()
    }

    func takeTasks() -> [@Sendable () -> Void] {
        tasks.withLock { q in
            let items = q
            q.removeAll()
            return items
        }
    }

    func take() -> [Handoff] {
        inbox.withLock { q in
            let items = q
            q.removeAll()
            return items
        }
    }
}
