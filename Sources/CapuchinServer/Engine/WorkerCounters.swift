import Synchronization

/// One worker's counters. Only the owning worker writes them (plain
/// load+store, no read-modify-write); readers sum them across workers.
public final class WorkerCounters: @unchecked Sendable {
    let requests = Atomic<UInt64>(0)
    let bytes = Atomic<UInt64>(0)
    let accepted = Atomic<UInt64>(0)
    /// Open connections; the fair acceptor reads it to pick the least-loaded worker.
    let active = Atomic<Int>(0)

    init() {}

    @inline(__always) func countRequest(bytes n: Int) {
        requests.store(requests.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        bytes.store(bytes.load(ordering: .relaxed) &+ UInt64(n), ordering: .relaxed)
    }
    @inline(__always) func connectionOpened() {
        accepted.store(accepted.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        active.store(active.load(ordering: .relaxed) + 1, ordering: .relaxed)
    }
    @inline(__always) func connectionClosed() {
        active.store(active.load(ordering: .relaxed) - 1, ordering: .relaxed)
    }
}

/// The server's counters, summed over workers on read.
public struct ServerCountersSnapshot: Sendable, Equatable {
    public var requests: UInt64 = 0
    public var bytesServed: UInt64 = 0
    public var connectionsAccepted: UInt64 = 0
    public var connectionsPerWorker: [Int] = []
}

/// Read access to the workers' counters (for the admin plugin).
public final class ServerStatistics: @unchecked Sendable {
    let workers: [WorkerCounters]
    /// The loop serving plugins' own listeners (admin): in the totals, not a worker.
    let pluginListenerLoop = WorkerCounters()
    public let startedNanos: Int64

    init(workerCount: Int, startedNanos: Int64) {
        workers = (0..<workerCount).map { _ in WorkerCounters() }
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
