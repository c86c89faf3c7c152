import CacheStore
import CapuchinServer
import FileCache
import CapuchinSystem
import HTTPCore

/// The proxy's persistent cache: bodies in `<dir>/proxy/`, their index in an
/// LMDB `CacheStore` in `<dir>/proxy-index/`, and the RFC 9111 rules.
final class ProxyCache: Sendable {
    let store: ProxyBodyStore
    let index: CacheStore
    let rules: HTTPCacheRules
    /// Encoded variants of stored identity responses (`ProxyCache+Compression`).
    let compressor: ResponseCompressor?
    /// Primary keys with a background refresh under way (one per key, server-wide).
    private let refreshing = Lock(Set<String>())

    /// Opens (and recovers) the store. Throws `StoreError` or `ProxyStoreError`
    /// when the directory or index cannot be opened.
    init(config: ProxyCacheConfig, log: ErrorLog) throws {
        index = try CacheStore(directory: config.directory + "/proxy-index", log: { log.warn("proxy cache index: \($0)") })
        store = try ProxyBodyStore(cacheDirectory: config.directory, index: CacheStoreIndex(store: index),
                                   durability: config.durability, maxObjectSize: config.maxObjectSize, spoolCapacity: config.spoolCapacity,
                                   limit: config.limit, loadLater: true, log: { log.warn($0) }, info: { log.info($0) })
        rules = HTTPCacheRules(config)
        compressor = try ResponseCompressor(directory: config.directory + "/proxy-variants", index: index,
                                            log: { log.info("proxy cache: \($0)") })
        // A response gone takes its compressed variants along.
        if let compressor {
            store.removalHook.withLock { $0 = { gone in compressor.forget(gone.map { ($0.key, $0.bodyPath) }) } }
        }
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
        return (object, rules.use(of: object.response, now: now, softPurged: object.entry.softPurgedAtNanos != 0))
    }

    /// How a stored object came to answer a request: its `X-Cache` and `Cache-Status`.
    enum Served {
        /// Fresh: no origin request.
        case fresh
        /// Stale within stale-while-revalidate or grace; refreshed in the background.
        case staleWhileRevalidate
        /// Revalidated by a 304 just now.
        case revalidated
        /// Stale, served because the origin failed (`status`: its answer, nil when none).
        case staleIfError(status: Int?)
        /// Stored by the coalesced request this one waited for.
        case collapsed(Int)

        var xCache: String {
            switch self {
            case .fresh, .collapsed: return "HIT"
            case .staleWhileRevalidate, .staleIfError: return "STALE"
            case .revalidated: return "REVALIDATED"
            }
        }

        func cacheStatus(ttl: Int64) -> String {
            switch self {
            case .fresh: return CacheStatus.hit(ttl: ttl)
            case .staleWhileRevalidate: return CacheStatus.hit(ttl: ttl, detail: "stale-while-revalidate")
            case .revalidated: return CacheStatus.forwarded(.stale, status: 304, ttl: ttl)
            case .staleIfError(let status): return CacheStatus.forwarded(.stale, status: status, ttl: ttl, detail: "stale-if-error")
            case .collapsed(let status): return CacheStatus.forwarded(.uriMiss, status: status, stored: true, ttl: ttl, collapsed: true)
            }
        }
    }

    /// The response to `request` from a stored object: a 200 stored response
    /// goes through the server's shared conditional/Range logic (304, 206,
    /// 412, 416), other statuses are sent as stored. nil when the body file is gone.
    /// A plain request gets the object's prebuilt head plus Age, X-Cache and Cache-Status.
    func response(for object: CachedObject, request: HTTPRequest, now: Int64, via: String, served: Served) -> Response? {
        guard let mapping = store.mappedBody(object),
              let head = object.hitHead.get(orMake: { HitHead(object.response, via: via) }) else { return nil }
        store.recordHit(object)
        let stored = object.response
        let age = stored.currentAge(now: now)
        let ttl = rules.freshnessLifetime(status: stored.status, cacheControl: stored.cacheControl, dates: stored.dates,
                                          responseTime: stored.responseTime) - age
        // The head holds no Content-Length or Server: the server writes those.
        var perHit = HTTPHeaders()
        perHit.reserveCapacity(3)
        perHit.add("Age", String(age))
        perHit.add("X-Cache", served.xCache)
        perHit.add(CacheStatus.fieldName, served.cacheStatus(ttl: ttl))
        let size = Int(object.entry.size)
        if let encoded = encodedResponse(for: object, mapping: mapping, head: head, request: request, perHit: &perHit) { return encoded }
        if stored.status != 200 || !ConditionalEvaluator.hasPreconditionOrRange(request.headers) {
            var r = Response(status: stored.status, headers: perHit,
                             body: size > 0 ? .mapped(mapping, offset: 0, count: size) : .empty,
                             preformattedHeaders: head.plainLines)
            r.carriesDate = head.carriesDate
            return r
        }
        var h = head.fields
        for f in perHit { h.add(f.name, f.value) }
        var r = RepresentationResponder.respond(request: request, etag: stored.etag, lastModifiedSeconds: stored.dates.lastModified,
                                                contentType: head.contentType, size: size, headers: h) { offset, count in
            count > 0 ? .mapped(mapping, offset: offset, count: count) : .empty
        }
        // 412 and 416 are the server's own answers, without the stored fields.
        r.carriesDate = head.carriesDate && r.headers.contains("Date")
        return r
    }

    /// Why a request found nothing to serve: nothing under its URI, or only other variants.
    func missReason(primary: String) -> CacheStatus.Forward {
        store.hasVariants(primary: primary) ? .varyMiss : .uriMiss
    }

    /// Claims the background refresh of `primary`; false when one is under way.
    func beginRefresh(_ primary: String) -> Bool { refreshing.withLock { $0.insert(primary).inserted } }

    func endRefresh(_ primary: String) { _ = refreshing.withLock { $0.remove(primary) } }

    /// Saves the eviction policy's state, commits the index and closes it (server stop).
    func close() {
        compressor?.stop()
        store.waitUntilLoaded()
        store.persistPolicyState()
        try? index.flush()
        index.close()
    }
}
