import Synchronization

/// One event loop's request and connection counters. Only the owning loop
/// writes them (plain load+store, no read-modify-write); readers sum them
/// across loops (`ServerStatistics`). Not FileCache's per-worker cache counters.
public final class LoopCounters: @unchecked Sendable {
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
