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
/// leader): the head goes out alone, the body follows from the next loop turn,
/// and each turn queues at most one slice. The connection flushes its queue at
/// the end of the turn until the socket is full, so a waiter that queued all it
/// could (tens of MiB for one joining late) made that turn copy megabytes per
/// connection, and the heads of the waiters behind it waited for those copies
/// (the +239 ms first-byte spread of `coalescing.py`).
/// Worker-thread only (its worker's).
final class StreamingWaiter {
    /// Largest slice queued in one loop turn: what one waiter's flush may copy
    /// before the next connection of the worker is served.
    static let slice = 1 << 20

    let body: StreamingBody
    let sink: ResponseSink
    let poster: LoopPoster
    /// This waiter's registration with the body (`StreamingBody.addReader`).
    private let reader: Int
    private var file: OpenFile?
    private var offset = 0
    private var ended = false

    /// nil when the body can no longer be read whole (see `StreamingBody.addReader`).
    init?(body: StreamingBody, sink: ResponseSink, poster: LoopPoster) {
        guard let reader = body.addReader() else { return nil }
        self.reader = reader
        self.body = body
        self.sink = sink
        self.poster = poster
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
        // The heads of every waiter woken in this turn are flushed before any body.
        yieldTurn()
    }

    /// Goes on at the next loop turn (after this turn's flushes).
    private func yieldTurn() {
        let me = WorkerBound(self)
        poster.post { me.value.pump() }
    }

    /// Sends what has arrived, then waits for the client or the leader.
    private func pump() {
        while !ended && !sink.isCancelled {
            // Runs on the leader's thread: back to this worker before touching anything.
            let me = WorkerBound(self)
            let waker: @Sendable () -> Void = { [poster] in poster.post { me.value.pump() } }
            guard let p = body.progress(beyond: offset, orWake: waker) else { return }
            if offset < p.written {
                guard send(upTo: p.written) else { return fail() }
                if sink.isCongested {
                    sink.onDrain = { [self] in sink.onDrain = nil; pump() }
                } else {
                    yieldTurn()
                }
                return
            }
            switch p.end {
            case .complete:
                if body.chunked { sink.write(ChunkedEncoder.end) }
                sink.finish()
                finishReading()
            case .failed: fail()
            case .open: continue
            }
            return
        }
    }

    /// Queues one slice of what has arrived (the bytes are in the file up to
    /// `written`, or in the body's tail past a spool's budget); false when reading stopped.
    private func send(upTo written: Int) -> Bool {
        guard let file else { return false }
        let n: Int
        switch body.slice(reader: reader, at: offset, limit: min(Self.slice, written - offset)) {
        case .file(let count):
            n = count
            frame(n) { sink.write(file: file, offset: offset, count: n) }
        case .memory(let bytes):
            n = bytes.count
            frame(n) { sink.write(bytes) }
        }
        offset += n
        return n > 0
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
