import CapuchinSystem
import HTTPCore

/// A response a coalescing leader is storing (or spooling for them only: too
/// large to store, `notStoredReason`), readable by its waiters while it
/// arrives (read-while-write, as Varnish's streaming and ATS's read-while-
/// writer): the head as the leader's client got it, and the body file being
/// written, which each waiter sends from at its own pace.
/// Memory stays bounded however large the body: the bytes live in the file.
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

    private struct State {
        var written = 0
        var end = End.open
        /// Waiters that caught up: woken once when more arrives or the body ends.
        var wakers: [@Sendable () -> Void] = []
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

    /// The whole body is in the file (and the response stored).
    public func complete() { update { $0.end = .complete } }

    /// The fetch failed or stopped storing: readers stop where they are.
    public func fail() { update { if $0.end == .open { $0.end = .failed } } }

    private func update(_ change: (inout State) -> Void) {
        let wakers = state.withLock { s -> [@Sendable () -> Void] in
            change(&s)
            defer { s.wakers = [] }
            return s.wakers
        }
        for w in wakers { w() }
    }
}
