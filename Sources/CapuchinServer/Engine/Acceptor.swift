import CapuchinSystem

/// `balance: fair`: one thread accepts on the shared listener and hands each
/// connection to the worker with the fewest open connections.
final class Acceptor {
    private let epoll: Epoll
    private let stop: EventFD
    private let listeners: [Worker.Listener]
    private let mailboxes: [WorkerMailbox]
    private let log: ErrorLog
    private var accepting = ListenerAccepting()
    /// Where the search for the least-loaded worker starts; rotating it spreads
    /// a burst the workers have not counted yet.
    private var next = 0

    /// Throws `SystemError` from epoll/eventfd set-up.
    init(listeners: [Worker.Listener], mailboxes: [WorkerMailbox], log: ErrorLog) throws {
        epoll = try Epoll(capacity: 16)
        stop = try EventFD()
        self.listeners = listeners
        self.mailboxes = mailboxes
        self.log = log
        try epoll.add(stop.fd, events: Epoll.readable, token: UInt64.max)
        for (i, l) in listeners.enumerated() { try epoll.add(l.fd, events: Epoll.readable, token: UInt64(i)) }
    }

    /// Wakes the thread and makes `run` return (callable from any thread).
    func requestStop() { stop.signal() }

    func run() {
        var paused = false
        loop: while true {
            let n = (try? epoll.wait(timeoutMillis: paused ? 100 : 1000)) ?? 0
            if paused {
                for (i, l) in listeners.enumerated() { try? epoll.add(l.fd, events: Epoll.readable, token: UInt64(i)) }
                paused = false
            }
            for i in 0..<n {
                let (_, token) = epoll.event(at: i)
                if token == UInt64.max { break loop }
                let l = listeners[Int(token)]
                if case .outOfDescriptors(let mustPause) = accepting.acceptBatch(l.fd, { handOff($0, $1, l) }) {
                    log.warn("acceptor: out of file descriptors; refusing connections")
                    if mustPause {
                        for l in listeners { epoll.remove(l.fd) }
                        paused = true
                    }
                }
            }
        }
        for l in listeners { epoll.remove(l.fd); FileIO.close(l.fd) }
    }

    private func handOff(_ fd: Int32, _ peer: PeerAddress, _ l: Worker.Listener) {
        var best = -1, bestLoad = Int.max
        for k in 0..<mailboxes.count {
            let i = (next + k) % mailboxes.count
            let load = mailboxes[i].counters.active.load(ordering: .relaxed)
            if load < bestLoad { best = i; bestLoad = load }
        }
        next = (best + 1) % mailboxes.count
        mailboxes[best].post(.init(fd: fd, peer: peer, localPort: l.port, pluginIndex: l.pluginIndex, tls: l.tls))
    }
}
