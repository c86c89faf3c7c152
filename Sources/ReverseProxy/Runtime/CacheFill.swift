import CapuchinSystem
import HTTPCore

/// Tees a response being relayed into the body store when RFC 9111 allows
/// storing it; committed only when the whole body arrived. For a coalescing
/// leader, a response storable but for its size (over `max_object_size`) is
/// spooled instead: written to an unlinked temporary file that only its
/// waiters read (so one origin fetch serves them all, as a stored one does),
/// dropped when the last reader closes it. Spools share a byte budget
/// (`SpoolBudget`): one that does not fit is not spooled (`spoolRefused`).
final class CacheFill {
    let store: ProxyBodyStore
    let rules: HTTPCacheRules
    let request: HTTPRequest
    let primary: String
    let requestTime: Int64
    private var writer: BodyWriter?
    private var stored: StoredResponse?
    /// The response's cache tags (`CacheTags`).
    private var tags: [String] = []
    /// Why the response is not being stored (for Cache-Status' detail).
    private(set) var notStoredReason: String?
    /// The body is written for coalesced waiters only, never committed.
    private(set) var spooling = false
    /// Whether the response may be shared with coalesced waiters though it is
    /// not stored (nil until `begin`): false for one a cache must not reuse
    /// (private, Set-Cookie, no-store...).
    private(set) var shareable: Bool?
    /// The spool's share of the budget (held by the waiters' `StreamingBody` too).
    private(set) var spoolReservation: SpoolReservation?
    /// Too large to store, and to spool within the budget: the waiters are handed over at once.
    private(set) var spoolRefused = false
    /// A spool of unknown length outgrew the budget: its file stopped at
    /// `bytesWritten`, the readers already reading get the rest from memory
    /// (`StreamingBody.spill`), the others are handed over (`spoolRefused`).
    private(set) var spilled = false
    /// Body bytes in the file when it stopped growing (a spill).
    private(set) var spilledAt = 0

    init(store: ProxyBodyStore, rules: HTTPCacheRules, request: HTTPRequest, primary: String) {
        self.store = store
        self.rules = rules
        self.request = request
        self.primary = primary
        requestTime = Clock.wallNanos() / 1_000_000_000
    }

    /// Decides on the head; true when the response is being stored. `spool`:
    /// one too large to store is spooled for coalesced waiters (a leader's fill).
    func begin(head: BackendResponseHead, now: UInt64, spool: Bool = false) -> Bool {
        let verdict = rules.storability(request: request, status: head.status, headers: head.headers)
        guard case .store(let headers) = verdict else {
            if case .notStorable(let why) = verdict {
                notStoredReason = why.rawValue
                shareable = why == .tooLarge
                if why == .tooLarge && spool {
                    // A known length is reserved whole up front: the waiters are
                    // handed over now, not cut off when the budget runs out.
                    let length: Int
                    if case .contentLength(let n) = head.framing { length = n } else { length = 0 }
                    let reservation = SpoolReservation(budget: store.spoolBudget)
                    if reservation.grow(to: length), let w = try? store.makeWriter() {
                        w.liftLimit()
                        writer = w
                        spooling = true
                        spoolReservation = reservation
                    } else {
                        spoolRefused = true
                    }
                }
            }
            return false
        }
        shareable = true
        guard let w = try? store.makeWriter() else { notStoredReason = "store-error"; return false }
        writer = w
        tags = rules.tagging.tags(in: head.headers)
        stored = StoredResponse(status: head.status, headers: headers, requestTime: requestTime,
                                responseTime: Clock.wallNanos() / 1_000_000_000,
                                vary: VaryKey(responseHeaders: head.headers, request: request.headers), bodySize: 0)
        return true
    }

    /// Whether the body is still being written to the store.
    var isStoring: Bool { writer != nil && !spooling }
    /// Whether the body is being written to a file waiters can read (stored or spooled).
    var isWriting: Bool { writer != nil }
    /// Body bytes written so far.
    var bytesWritten: Int { writer?.bytesWritten ?? 0 }

    /// The file the body is being written to, opened for its waiters to read
    /// as it grows. A spool's path is unlinked then: only descriptors hold it.
    func openForReaders() -> OpenFile? {
        guard let w = writer else { return nil }
        let file = try? OpenFile(path: w.tempPath)
        if spooling { w.unlinkFile() }
        return file
    }

    /// Seconds the response being stored stays fresh (nil when not storing).
    var ttl: Int64? {
        guard let s = stored else { return nil }
        return rules.freshnessLifetime(status: s.status, cacheControl: s.cacheControl, dates: s.dates, responseTime: s.responseTime)
            - s.currentAge(now: s.responseTime)
    }

    /// `readers`: waiters read the file (a body growing past the maximum
    /// object size is then spooled for them rather than dropped).
    func append(_ bytes: [UInt8], readers: Bool = false) {
        guard let w = writer else { return }
        if readers && !spooling && w.bytesWritten + bytes.count > w.limit {
            w.liftLimit()
            w.unlinkFile()
            spooling = true
            spoolReservation = SpoolReservation(budget: store.spoolBudget)
            notStoredReason = NotStorableReason.tooLarge.rawValue
        }
        // A body of unknown length past the budget: the spool's file stops here.
        if spooling, spoolReservation?.grow(to: w.bytesWritten + bytes.count) == false {
            spilledAt = w.bytesWritten
            spilled = readers
            spoolRefused = readers
            abort()
            return
        }
        // Too large or a write error: the writer removed its file; stop writing.
        do { try w.append(bytes) } catch { writer = nil }
    }

    /// Stores the complete body; nil when nothing was stored (a spool is dropped).
    func commit() -> CachedObject? {
        guard let w = writer else { return nil }
        writer = nil
        // A spool's share stays with its readers (`StreamingBody`), if any.
        spoolReservation = nil
        guard let s = stored, !spooling else { w.abort(); return nil }
        return try? store.commit(w, primary: primary, response: s, tags: tags, nowNanos: Clock.wallNanos())
    }

    func abort() {
        writer?.abort()
        writer = nil
        spoolReservation = nil
    }
}
