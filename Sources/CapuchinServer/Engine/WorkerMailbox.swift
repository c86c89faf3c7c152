import CapuchinSystem
import Synchronization

/// What other threads may touch of a worker: its wake-up eventfd, its inbox
/// of connections handed over by the fair acceptor, and its counters.
final class WorkerMailbox: @unchecked Sendable {
    struct Handoff { var fd: Int32; var localPort: Int; var pluginIndex: Int? }

    let wake: EventFD
    let counters: WorkerCounters
    private let inbox = Mutex<[Handoff]>([])

    /// Throws `SystemError` from eventfd.
    init(counters: WorkerCounters) throws {
        wake = try EventFD()
        self.counters = counters
    }

    func post(_ h: Handoff) {
        inbox.withLock { $0.append(h) }
        wake.signal()
    }

    func take() -> [Handoff] {
        inbox.withLock { q in
            let items = q
            q.removeAll()
            return items
        }
    }
}
