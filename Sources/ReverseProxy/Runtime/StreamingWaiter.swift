import CapuchinServer
import CapuchinSystem
import HTTPCore

/// A coalesced waiter reading the response its leader is storing: the head at
/// once, then the body from the leader's file as it grows, at its own
/// client's pace (a slow client never holds the leader or the others back).
/// The body goes out as file slices of the leader's descriptor (sendfile, as
/// nginx sends from its cache file): no copy, no read buffer per waiter. When
/// it has caught up it asks to be woken on its own worker when more arrives.
/// Worker-thread only (its worker's).
final class StreamingWaiter {
    /// Largest slice queued at once: the connection's congestion check
    /// (which pauses this waiter) then runs at least this often.
    static let slice = 1 << 20

    let body: StreamingBody
    let sink: ResponseSink
    let poster: LoopPoster
    private var file: OpenFile?
    private var offset = 0
    private var ended = false

    init(body: StreamingBody, sink: ResponseSink, poster: LoopPoster) {
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
        pump()
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
                    return
                }
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
            return
        }
    }

    /// Queues one slice of what has arrived (the bytes are in the file up to
    /// `written`, so the send never finds it short); false when reading stopped.
    private func send(upTo written: Int) -> Bool {
        guard let file else { return false }
        let n = min(Self.slice, written - offset)
        if body.chunked { sink.write(Array(String(n, radix: 16).utf8) + [13, 10]) }
        sink.write(file: file, offset: offset, count: n)
        if body.chunked { sink.write([13, 10]) }
        offset += n
        return true
    }

    /// The leader's fetch failed mid-body: the client's connection is reset so
    /// it cannot take a truncated body for a whole one.
    private func fail() {
        sink.abort()
        finishReading()
    }

    /// Stops reading; drops the sink's closures (they hold this waiter).
    private func finishReading() {
        ended = true
        file = nil
        sink.onCancel = nil
        sink.onDrain = nil
    }
}
