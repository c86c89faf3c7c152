import CapuchinSystem
import HTTPCore

/// A response a coalescing leader is storing (or spooling for them only: too
/// large to store, `notStoredReason`), readable by its waiters while it
/// arrives (read-while-write, as Varnish's streaming and ATS's read-while-
/// writer): the head as the leader's client got it, and the body file being
/// written, which each waiter sends from at its own pace.
/// Memory stays bounded however large the body: the bytes live in the file.
///
/// A spool of unknown length that outgrows its byte budget stops growing its
/// file (`spill`): the rest reaches the readers already reading through a
/// bounded in-memory tail (`tailWindow`), dropped as the slowest reader passes
/// it; the leader pauses its origin while the tail is full (the readers'
/// pace, as a tee). Readers register (`addReader`) so the tail knows whom it
/// waits for; one that arrives after bytes past the file were dropped cannot
/// read the body and fetches its own.
/// Thread-safe: the leader appends on its worker, waiters read on theirs.
public final class StreamingBody: Sendable {
    public let status: Int
    /// The client-facing head fields (framing fields included), without X-Cache and Cache-Status.
    public let headers: HTTPHeaders
    /// Whether the body is sent chunked (an origin body of unknown length).
    public let chunked: Bool
    /// The body file being written, opened once by the leader when it
    /// publishes: waiters read it with positioned reads (thread-safe, each at
    /// its own offset), and the descriptor stays valid when the store renames
    /// the file into place (or drops it), so no waiter races that rename.
    public let file: OpenFile
    public let vary: VaryKey
    /// Why it is not being stored (a spool for the waiters: too large), nil when it is.
    public let notStoredReason: String?
    /// Kept while the body is read (a spool's share of `SpoolBudget`, given back when the last reader is done).
    private let holding: (any Sendable)?

    /// How far the body has arrived and how it ended.
    public enum End: Sendable, Equatable { case open, complete, failed }

    /// Bytes the in-memory tail holds before the leader pauses its origin.
    public static let tailWindow = 4 << 20

    /// Where the bytes at an offset are: in the file, or copied from the tail.
    public enum Slice: Equatable { case file(count: Int), memory([UInt8]) }

    private struct State {
        var written = 0
        var end = End.open
        /// Waiters that caught up: woken once when more arrives or the body ends.
        var wakers: [@Sendable () -> Void] = []
        /// Set by `spill`: the file holds the bytes before it, the tail the rest.
        var fileEnd: Int?
        /// The tail's chunks, the first starting at `tailStart`.
        var tail: [[UInt8]] = []
        var tailStart = 0
        var tailBytes = 0
        /// Each registered reader's offset (what it has taken so far).
        var readers: [Int: Int] = [:]
        var nextReader = 0
        /// The leader, paused until the tail has room.
        var leaderWaker: (@Sendable () -> Void)?
    }
    private let state = Lock(State())

    public init(status: Int, headers: HTTPHeaders, chunked: Bool, file: OpenFile, vary: VaryKey, notStoredReason: String? = nil,
                holding: (any Sendable)? = nil) {
        self.holding = holding
        self.status = status
        self.headers = headers
        self.chunked = chunked
        self.file = file
        self.vary = vary
        self.notStoredReason = notStoredReason
    }

    /// Bytes written so far and whether the body ended.
    public var progress: (written: Int, end: End) { state.withLock { ($0.written, $0.end) } }

    /// The progress, or nil after registering `wake` when nothing past
    /// `offset` has arrived and the body is still open (`wake` then runs once,
    /// on the leader's thread, when that changes).
    public func progress(beyond offset: Int, orWake wake: @escaping @Sendable () -> Void) -> (written: Int, end: End)? {
        state.withLock { s in
            if s.written > offset || s.end != .open { return (s.written, s.end) }
            s.wakers.append(wake)
            return nil
        }
    }

    /// The leader appended: `total` bytes are in the file.
    public func appended(total: Int) { update { $0.written = total } }

    /// Registers a reader starting at offset 0; nil when it could no longer
    /// read the whole body (bytes past the file were dropped already).
    public func addReader() -> Int? {
        state.withLock { s in
            if let end = s.fileEnd, s.tailStart > end { return nil }
            s.nextReader += 1
            s.readers[s.nextReader] = 0
            return s.nextReader
        }
    }

    /// The reader stopped reading (done, failed or its client gone).
    public func removeReader(_ id: Int) { moveReader(id) { $0.readers[id] = nil } }

    /// Up to `limit` bytes at `offset` (below `progress.written`): a count of
    /// file bytes, or a copy of tail bytes; recording `offset` as what reader
    /// `id` has taken so far (tail bytes every reader took are dropped).
    public func slice(reader id: Int, at offset: Int, limit: Int) -> Slice {
        var slice = Slice.file(count: 0)
        moveReader(id) { s in
            s.readers[id] = offset
            guard let fileEnd = s.fileEnd, offset >= fileEnd else {
                slice = .file(count: min(limit, (s.fileEnd ?? s.written) - offset))
                return
            }
            var out: [UInt8] = []
            var at = s.tailStart
            for chunk in s.tail {
                if out.count >= limit { break }
                let end = at + chunk.count
                if end > offset {
                    let from = max(offset, at) - at
                    out += chunk[from..<min(chunk.count, from + limit - out.count)]
                }
                at = end
            }
            slice = .memory(out)
        }
        return slice
    }

    /// The file stops growing at `fileEnd` (the spool's budget is spent):
    /// what follows comes through `appendTail`.
    public func spill(fileEnd: Int) {
        state.withLock { s in
            guard s.fileEnd == nil else { return }
            s.fileEnd = fileEnd
            s.tailStart = fileEnd
        }
    }

    /// Whether `spill` was called.
    public var isSpilled: Bool { state.withLock { $0.fileEnd != nil } }

    /// The leader's next bytes past the file. Returns false when the tail is
    /// full: the leader pauses, and `wake` runs once (on a reader's thread)
    /// when there is room again.
    public func appendTail(_ bytes: [UInt8], orWakeWhenRoom wake: @escaping @Sendable () -> Void) -> Bool {
        var room = true
        update { s in
            s.tail.append(bytes)
            s.tailBytes += bytes.count
            s.written += bytes.count
            Self.trim(&s)
            room = s.tailBytes < Self.tailWindow
            if !room { s.leaderWaker = wake }
        }
        return room
    }

    /// Drops the tail chunks every reader has passed (all of it without readers).
    private static func trim(_ s: inout State) {
        let slowest = s.readers.values.min() ?? s.written
        while let first = s.tail.first, s.tailStart + first.count <= slowest {
            s.tail.removeFirst()
            s.tailStart += first.count
            s.tailBytes -= first.count
        }
    }

    /// Changes a reader's state, then trims the tail and wakes a paused leader when it has room.
    private func moveReader(_ id: Int, _ change: (inout State) -> Void) {
        let wake = state.withLock { s -> (@Sendable () -> Void)? in
            change(&s)
            guard s.fileEnd != nil else { return nil }
            Self.trim(&s)
            guard s.tailBytes < Self.tailWindow, let w = s.leaderWaker else { return nil }
            s.leaderWaker = nil
            return w
        }
        wake?()
    }

    /// The whole body is in the file (and the response stored).
    public func complete() { update { $0.end = .complete } }

    /// The fetch failed or stopped storing: readers stop where they are.
    public func fail() { update { if $0.end == .open { $0.end = .failed } } }

    private func update(_ change: (inout State) -> Void) {
        let wakers = state.withLock { s -> [@Sendable () -> Void] in
            change(&s)
            var wakers = s.wakers
            s.wakers = []
            // Ended: a paused leader has nothing left to wait for.
            if s.end != .open, let w = s.leaderWaker { wakers.append(w); s.leaderWaker = nil }
            return wakers
        }
        for w in wakers { w() }
    }
}
