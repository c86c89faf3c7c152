import CapuchinServer
import CapuchinSystem
import HTTPCore

/// A coalesced waiter reading the response its leader is storing: the head at
/// once, then the body from the leader's file as it grows, at its own
/// client's pace (a slow client never holds the leader or the others back).
/// The body goes out as file slices of the leader's descriptor (sendfile, as
/// nginx sends from its cache file): no copy, no read buffer per waiter. When
/// it has caught up it asks to be woken on its own worker when more arrives.
///
/// Fair to the other waiters of its worker (many join at once behind one
/// leader): the head goes out alone in the turn the waiter is woken (behind at
/// most one turn's budget of other waiters' bodies), and the body follows
/// from a later turn of the worker's `WaiterTurns`: each turn this waiter queues up
/// to its window, which doubles while its socket takes all it was given. A
/// full socket takes it out of the turns: the connection's writability
/// (EPOLLOUT) paces it then, each drain topping its queue up at once.
/// Worker-thread only (its worker's).
final class StreamingWaiter: TurnFed {
    /// Largest piece queued at once (one sendfile slice, or one chunk).
    static let slice = 1 << 20
    /// The most one waiter queues at once (its `window` grows to it), a few
    /// sockets' worth: enough to keep a loopback socket full between wake-ups.
    static let maxWindow = 4 << 20

    let body: StreamingBody
    let sink: ResponseSink
    let turns: WaiterTurns
    /// This waiter's registration with the body (`StreamingBody.addReader`).
    private let reader: Int
    private var file: OpenFile?
    private var offset = 0
    private var ended = false
    /// What it queues in a turn; `queuedLastTurn`: whether it last filled what it was allowed (more was waiting).
    private var window = StreamingWaiter.slice
    private var queuedLastTurn = false

    /// nil when the body can no longer be read whole (see `StreamingBody.addReader`).
    init?(body: StreamingBody, sink: ResponseSink, turns: WaiterTurns) {
        guard let reader = body.addReader() else { return nil }
        self.reader = reader
        self.body = body
        self.sink = sink
        self.turns = turns
    }

    /// Sends the head, then the body as it arrives.
    func start(cacheStatus: String) {
        file = body.file
        var h = body.headers
        h.add("X-Cache", "HIT")
        h.add(CacheStatus.fieldName, cacheStatus)
        var r = Response(status: body.status, headers: h)
        r.carriesDate = h.contains("Date")
        sink.start(r)
        sink.onCancel = { [self] in finishReading() }
        // The body from the next turn: this turn's heads go out first.
        turns.add(self)
    }

    /// Its turn (`WaiterTurns`): queues what has arrived, up to its window and
    /// `allowance` bytes, unless its socket is full. Returns the bytes queued.
    func feed(allowance: Int) -> Int {
        guard !ended, !sink.isCancelled else { return 0 }
        if sink.isCongested {
            // Full: the connection's writability paces it now. Its drain runs
            // inside the connection's flush, which goes on with what this queues
            // until the socket is full again (no wait for a turn: the socket
            // never runs dry); that copies no more than the socket has room for.
            queuedLastTurn = false
            sink.onDrain = { [self] in
                sink.onDrain = nil
                _ = queueArrived(limit: Self.maxWindow)
            }
            return 0
        }
        // The socket took (nearly) all of the last turn's bytes: it can take more.
        if queuedLastTurn { window = min(Self.maxWindow, window * 2) }
        return queueArrived(limit: min(window, allowance))
    }

    /// Queues up to `limit` bytes of what has arrived; then it is due again
    /// (more to send), waits for the leader (caught up) or has finished.
    private func queueArrived(limit: Int) -> Int {
        guard !ended, !sink.isCancelled else { return 0 }
        var queued = 0
        while queued < limit {
            guard let p = body.progress(beyond: offset, orWake: turns.waker(for: self)) else {
                queuedLastTurn = false
                return queued
            }
            if offset < p.written {
                let n = send(upTo: p.written, limit: min(Self.slice, limit - queued))
                guard n > 0 else { fail(); return queued }
                queued += n
                continue
            }
            switch p.end {
            case .complete:
                if body.chunked { sink.write(ChunkedEncoder.end) }
                sink.finish()
                finishReading()
            case .failed: fail()
            case .open: continue
            }
            return queued
        }
        queuedLastTurn = true
        turns.add(self)
        return queued
    }

    /// Queues up to `limit` bytes of what has arrived (in the file up to
    /// `written`, or in the body's tail past a spool's budget); 0 when reading stopped.
    private func send(upTo written: Int, limit: Int) -> Int {
        guard let file else { return 0 }
        let n: Int
        switch body.slice(reader: reader, at: offset, limit: min(limit, written - offset)) {
        case .file(let count):
            n = count
            frame(n) { sink.write(file: file, offset: offset, count: n) }
        case .memory(let bytes):
            n = bytes.count
            frame(n) { sink.write(bytes) }
        }
        offset += n
        return n
    }

    /// Writes `n` body bytes, as a chunk when the body is chunked.
    private func frame(_ n: Int, _ write: () -> Void) {
        if body.chunked { sink.write(Array(String(n, radix: 16).utf8) + [13, 10]) }
        write()
        if body.chunked { sink.write([13, 10]) }
    }

    /// The leader's fetch failed mid-body: the client's connection is reset so
    /// it cannot take a truncated body for a whole one.
    private func fail() {
        sink.abort()
        finishReading()
    }

    /// Stops reading; drops the sink's closures (they hold this waiter).
    private func finishReading() {
        if !ended { body.removeReader(reader) }
        ended = true
        file = nil
        sink.onCancel = nil
        sink.onDrain = nil
    }
}
