import CacheStore
import CapuchinServer
import CapuchinSystem
import HTTPCore

/// The proxy's persistent cache: bodies in `<dir>/proxy/`, their index in an
/// LMDB `CacheStore` in `<dir>/proxy-index/`, and the RFC 9111 rules.
final class ProxyCache: @unchecked Sendable {
    let store: ProxyBodyStore
    let index: CacheStore
    let rules: CacheRules

    /// Opens (and recovers) the store. Throws `StoreError` or `ProxyStoreError`
    /// when the directory or index cannot be opened.
    init(config: ProxyCacheConfig, log: ErrorLog) throws {
        index = try CacheStore(directory: config.directory + "/proxy-index", log: { log.warn("proxy cache index: \($0)") })
        store = try ProxyBodyStore(cacheDirectory: config.directory, index: CacheStoreIndex(store: index),
                                   durability: config.durability, maxObjectSize: config.maxObjectSize,
                                   log: { log.warn($0) })
        rules = CacheRules(config)
        let r = store.recovery
        log.info("proxy cache: \(r.entriesKept) response(s) in \(config.directory); recovery dropped \(r.entriesDropped) entr(ies), \(r.orphanBodiesRemoved) orphan bod(ies), \(r.temporaryFilesRemoved) temporary file(s)")
    }

    /// A stored response usable for `request` now, as a server response
    /// (body sent from its file); nil on a miss or when it must be revalidated.
    func hit(for request: HTTPRequest, primary: String, via: String) -> Response? {
        guard let object = store.lookup(primary: primary, requestHeaders: request.headers) else { return nil }
        let now = Clock.wallNanos() / 1_000_000_000
        switch rules.use(of: object.response, now: now) {
        case .fresh, .staleWhileRevalidate: return response(for: object, now: now, via: via)
        case .revalidate: return nil
        }
    }

    /// The response for a stored object; nil when its body file is gone.
    func response(for object: CachedObject, now: Int64, via: String) -> Response? {
        guard let file = store.openBody(object) else { return nil }
        var h = object.response.servedHeaders(now: now)
        // The server writes Content-Length (from the file), Date and Server.
        h.remove("Content-Length")
        h.remove("Date")
        h.remove("Server")
        h.set("Via", (h.values("Via") + [via]).joined(separator: ", "))
        h.add("X-Cache", "HIT")
        return Response(status: object.response.status, headers: h, body: .file(file, offset: 0, count: Int(object.entry.size)))
    }

    /// Commits the index and closes it (server stop).
    func close() {
        try? index.flush()
        index.close()
    }
}
