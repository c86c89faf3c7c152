import CapuchinSystem
import HTTPCore

/// Tees a response being relayed into the body store when RFC 9111 allows
/// storing it; committed only when the whole body arrived.
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

    init(store: ProxyBodyStore, rules: HTTPCacheRules, request: HTTPRequest, primary: String) {
        self.store = store
        self.rules = rules
        self.request = request
        self.primary = primary
        requestTime = Clock.wallNanos() / 1_000_000_000
    }

    /// Decides on the head; true when the response is being stored.
    func begin(head: BackendResponseHead, now: UInt64) -> Bool {
        let verdict = rules.storability(request: request, status: head.status, headers: head.headers)
        guard case .store(let headers) = verdict else {
            if case .notStorable(let why) = verdict { notStoredReason = why.rawValue }
            return false
        }
        guard let w = try? store.makeWriter() else { notStoredReason = "store-error"; return false }
        writer = w
        tags = rules.tagging.tags(in: head.headers)
        stored = StoredResponse(status: head.status, headers: headers, requestTime: requestTime,
                                responseTime: Clock.wallNanos() / 1_000_000_000,
                                vary: VaryKey(responseHeaders: head.headers, request: request.headers), bodySize: 0)
        return true
    }

    /// Whether the body is still being written to the store.
    var isStoring: Bool { writer != nil }
    /// Body bytes written so far.
    var bytesWritten: Int { writer?.bytesWritten ?? 0 }
    /// The file the body is being written to (its waiters read it as it grows).
    var bodyPath: String? { writer?.tempPath }

    /// Seconds the response being stored stays fresh (nil when not storing).
    var ttl: Int64? {
        guard let s = stored else { return nil }
        return rules.freshnessLifetime(status: s.status, cacheControl: s.cacheControl, dates: s.dates, responseTime: s.responseTime)
            - s.currentAge(now: s.responseTime)
    }

    func append(_ bytes: [UInt8]) {
        guard let w = writer else { return }
        // Too large or a write error: the writer removed its file; stop storing.
        do { try w.append(bytes) } catch { writer = nil }
    }

    /// Stores the complete body; nil when nothing was stored.
    func commit() -> CachedObject? {
        guard let w = writer, let s = stored else { return nil }
        writer = nil
        return try? store.commit(w, primary: primary, response: s, tags: tags, nowNanos: Clock.wallNanos())
    }

    func abort() {
        writer?.abort()
        writer = nil
    }
}
