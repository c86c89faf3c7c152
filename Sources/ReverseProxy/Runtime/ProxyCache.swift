import CacheStore
import CapuchinServer
import CapuchinSystem
import HTTPCore

/// The proxy's persistent cache: bodies in `<dir>/proxy/`, their index in an
/// LMDB `CacheStore` in `<dir>/proxy-index/`, and the RFC 9111 rules.
final class ProxyCache: Sendable {
    let store: ProxyBodyStore
    let index: CacheStore
    let rules: HTTPCacheRules
    /// Primary keys with a background refresh under way (one per key, server-wide).
    private let refreshing = Lock(Set<String>())

    /// Opens (and recovers) the store. Throws `StoreError` or `ProxyStoreError`
    /// when the directory or index cannot be opened.
    init(config: ProxyCacheConfig, log: ErrorLog) throws {
        index = try CacheStore(directory: config.directory + "/proxy-index", log: { log.warn("proxy cache index: \($0)") })
        store = try ProxyBodyStore(cacheDirectory: config.directory, index: CacheStoreIndex(store: index),
                                   durability: config.durability, maxObjectSize: config.maxObjectSize,
                                   limit: config.limit, loadLater: true, log: { log.warn($0) })
        rules = HTTPCacheRules(config)
        // The server listens while the index loads (see `ProxyBodyStore.startLoading`).
        let store = store, directory = config.directory
        try store.startLoading { error in
            if let error {
                log.error("proxy cache: loading the index in \(directory) failed: \(error); responses stored before are not used")
                return
            }
            let r = store.recovery
            log.info("proxy cache: \(r.entriesKept) response(s) in \(directory); recovery dropped \(r.entriesDropped) entr(ies), \(r.orphanBodiesRemoved) orphan bod(ies), \(r.temporaryFilesRemoved) temporary file(s)")
        }
    }

    /// The stored variant for `request` and how it may be used now; nil on a miss.
    func lookup(_ request: HTTPRequest, primary: String, now: Int64) -> (object: CachedObject, use: CacheUse)? {
        guard let object = store.lookup(primary: primary, requestHeaders: request.headers) else { return nil }
        return (object, rules.use(of: object.response, now: now))
    }

    /// The response to `request` from a stored object: a 200 stored response
    /// goes through the server's shared conditional/Range logic (304, 206,
    /// 412, 416), other statuses are sent as stored. nil when the body file is gone.
    /// A plain request gets the object's prebuilt head plus Age and X-Cache.
    func response(for object: CachedObject, request: HTTPRequest, now: Int64, via: String, xCache: String) -> Response? {
        guard let mapping = store.mappedBody(object),
              let head = object.hitHead.get(orMake: { HitHead(object.response, via: via) }) else { return nil }
        store.recordHit(object)
        // The head holds no Content-Length, Date or Server: the server writes those.
        var perHit = HTTPHeaders()
        perHit.reserveCapacity(2)
        perHit.add("Age", String(object.response.currentAge(now: now)))
        perHit.add("X-Cache", xCache)
        let size = Int(object.entry.size)
        let stored = object.response
        if stored.status != 200 || !ConditionalEvaluator.hasPreconditionOrRange(request.headers) {
            return Response(status: stored.status, headers: perHit,
                            body: size > 0 ? .mapped(mapping, offset: 0, count: size) : .empty,
                            preformattedHeaders: head.plainLines)
        }
        var h = head.fields
        for f in perHit { h.add(f.name, f.value) }
        return RepresentationResponder.respond(request: request, etag: stored.etag, lastModifiedSeconds: stored.dates.lastModified,
                                               contentType: head.contentType, size: size, headers: h) { offset, count in
            count > 0 ? .mapped(mapping, offset: offset, count: count) : .empty
        }
    }

    /// Claims the background refresh of `primary`; false when one is under way.
    func beginRefresh(_ primary: String) -> Bool { refreshing.withLock { $0.insert(primary).inserted } }

    func endRefresh(_ primary: String) { _ = refreshing.withLock { $0.remove(primary) } }

    /// Commits the index and closes it (server stop).
    func close() {
        store.waitUntilLoaded()
        try? index.flush()
        index.close()
    }
}
