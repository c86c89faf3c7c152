/// What `WaiterTurns` feeds (a `StreamingWaiter`): queues up to `allowance`
/// bytes, returns how many, and adds itself again when it has more.
protocol TurnFed: AnyObject {
    func feed(allowance: Int) -> Int
}

/// One worker's coalesced waiters (`StreamingWaiter`) that have body bytes to
/// send and room for them, fed in loop turns, round-robin, within a byte budget
/// a turn.
///
/// Why a budget a turn and not a slice a waiter: a connection's queued output
/// is flushed at the end of the loop turn, one connection after another, each
/// until its socket is full. A waiter that queued all it could (tens of MiB for
/// one joining late) made the heads served after it in that turn wait for
/// megabytes of copies; one slice a waiter a turn kept the heads quick but let
/// each client's socket run dry between turns (the whole transfer took twice
/// as long). Here each waiter queues up to its own window (grown while its
/// socket takes all it is given) and the turn stops
/// once `budget` bytes were queued: no head waits behind more than that,
/// every socket is topped up as fast as it drains, and waiters not reached go
/// first in the next turn. A waiter whose socket is full is not in the round
/// at all: the connection's writability (EPOLLOUT, its drain callback) brings
/// it back.
/// Worker-thread only (its worker's).
final class WaiterTurns {
    /// Bytes all waiters of the worker may queue in one turn.
    static let budget = 8 << 20

    /// Runs a task on this worker at its next loop turn (`LoopPoster.post`).
    typealias Post = @Sendable (@escaping @Sendable () -> Void) -> Void
    private let post: Post
    /// Waiters due in the next turn, in order.
    private var due: [any TurnFed] = []
    private var posted = false

    init(post: @escaping Post) { self.post = post }

    /// `waiter` has bytes to send (or its body ended) and its socket has room:
    /// fed in the next turn, after the waiters already due.
    func add(_ waiter: any TurnFed) {
        due.append(waiter)
        scheduleTurn()
    }

    /// A wake-up for another thread (the leader's, when more of the body
    /// arrived): `waiter` is due again, added on this worker.
    func waker(for waiter: any TurnFed) -> @Sendable () -> Void {
        let me = WorkerBound((self, waiter))
        return { [post] in post { me.value.0.add(me.value.1) } }
    }

    private func scheduleTurn() {
        guard !posted else { return }
        posted = true
        let me = WorkerBound(self)
        post { me.value.turn() }
    }

    /// Feeds the waiters due, in order, until the budget is spent; those fed
    /// re-join at the back when they still have bytes, those not reached stay in front.
    private func turn() {
        posted = false
        var batch: [any TurnFed] = []
        swap(&batch, &due)
        var left = Self.budget
        var i = 0
        while i < batch.count && left > 0 {
            left -= batch[i].feed(allowance: left)
            i += 1
        }
        if i < batch.count {
            due.insert(contentsOf: batch[i...], at: 0)
            scheduleTurn()
        }
    }
}
