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

    init(store: ProxyBodyStore, rules: HTTPCacheRules, request: HTTPRequest, primary: String) {
        self.store = store
        self.rules = rules
        self.request = request
        self.primary = primary
        requestTime = Clock.wallNanos() / 1_000_000_000
    }

    /// Decides on the head; true when the response is being stored.
    func begin(head: BackendResponseHead, now: UInt64) -> Bool {
        guard case .store(let headers) = rules.storability(request: request, status: head.status, headers: head.headers) else { return false }
        guard let w = try? store.makeWriter() else { return false }
        writer = w
        stored = StoredResponse(status: head.status, headers: headers, requestTime: requestTime,
                                responseTime: Clock.wallNanos() / 1_000_000_000,
                                vary: VaryKey(responseHeaders: head.headers, request: request.headers), bodySize: 0)
        return true
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
        return try? store.commit(w, primary: primary, response: s, nowNanos: Clock.wallNanos())
    }

    func abort() {
        writer?.abort()
        writer = nil
    }
}
