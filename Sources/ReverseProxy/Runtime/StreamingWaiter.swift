import CapuchinServer
import CapuchinSystem
import HTTPCore

/// A coalesced waiter reading the response its leader is storing: the head at
/// once, then the body from the leader's file as it grows, through its own
/// descriptor and at its own client's pace (a slow client never holds the
/// leader or the others back; at most one read buffer per waiter). When it has
/// caught up it asks to be woken on its own worker when more arrives.
/// Worker-thread only (its worker's).
final class StreamingWaiter {
    /// Read size: large enough for few wake-ups, small enough to bound memory.
    static let chunk = 64 << 10

    let body: StreamingBody
    let sink: ResponseSink
    let poster: LoopPoster
    private var file: OpenFile?
    private var offset = 0
    private var buffer: [UInt8] = []
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

    /// Reads and sends one chunk; false on a read error or a short file.
    private func send(upTo written: Int) -> Bool {
        guard let file else { return false }
        let n = min(Self.chunk, written - offset)
        if buffer.count < n { buffer = [UInt8](repeating: 0, count: Self.chunk) }
        let got = (try? buffer.withUnsafeMutableBytes { try FileIO.pread(file.fd, into: $0.baseAddress!, count: n, offset: offset) }) ?? -1
        guard got > 0 else { return false }
        offset += got
        let bytes = Array(buffer[0..<got])
        sink.write(body.chunked ? ChunkedEncoder.chunk(bytes) : bytes)
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
        buffer = []
        sink.onCancel = nil
        sink.onDrain = nil
    }
}
