import CapuchinTLS
import Synchronization

/// The server's counters, summed over workers on read.
public struct ServerCountersSnapshot: Sendable, Equatable {
    public var requests: UInt64 = 0
    public var bytesServed: UInt64 = 0
    public var connectionsAccepted: UInt64 = 0
    public var connectionsPerWorker: [Int] = []
}

/// Read access to the workers' counters (for the admin plugin).
public final class ServerStatistics: @unchecked Sendable {
    let workers: [LoopCounters]
    /// The loop serving plugins' own listeners (admin): in the totals, not a worker.
    let pluginListenerLoop = LoopCounters()
    public let startedNanos: Int64
    /// Handshakes, resumptions, failures by reason, protocols and ciphers of every TLS listener.
    public let tls = TLSCounters()

    init(workerCount: Int, startedNanos: Int64) {
        workers = (0..<workerCount).map { _ in LoopCounters() }
        self.startedNanos = startedNanos
    }

    public func snapshot() -> ServerCountersSnapshot {
        var s = ServerCountersSnapshot()
        for w in workers {
            s.requests &+= w.requests.load(ordering: .relaxed)
            s.bytesServed &+= w.bytes.load(ordering: .relaxed)
            s.connectionsAccepted &+= w.accepted.load(ordering: .relaxed)
            s.connectionsPerWorker.append(w.active.load(ordering: .relaxed))
        }
        s.requests &+= pluginListenerLoop.requests.load(ordering: .relaxed)
        s.bytesServed &+= pluginListenerLoop.bytes.load(ordering: .relaxed)
        s.connectionsAccepted &+= pluginListenerLoop.accepted.load(ordering: .relaxed)
        return s
    }
}
