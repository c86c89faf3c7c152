import CapuchinServer
import HTTPCore

/// The `cache` plugin: answers hits from the file cache before the static
/// handler, and admits what the static handler served on a miss.
/// Marks every response with `X-Cache: HIT | MISS | BYPASS` (config `x_cache_header`).
public final class FileCachePlugin: Plugin, @unchecked Sendable {
    public let name = "cache"
    public let cache: FileCache

    public init(cache: FileCache) { self.cache = cache }

    /// After the last worker stopped: hit counts, policy state and counters go
    /// to the store, which is flushed (a SIGTERM stop loses nothing).
    public func serverStopped() { shutdown() }

    /// Persists and flushes; errors are logged.
    public func shutdown() {
        do { try cache.persistState() } catch { cache.log("cache: flushing the store failed: \(error)") }
        cache.persistence?.close()
    }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> Response? {
        guard cache.config.enabled, request.method == "GET" || request.method == "HEAD" else { return nil }
        let worker = context.connection.workerID
        // An entry from another document root (the site's root changed on reload) is a miss;
        // the admission that follows replaces it.
        guard let entry = cache.lookup(site: context.site.names.first ?? "", path: request.path, worker: worker),
              entry.originPath.utf8.starts(with: context.site.root.utf8) else {
            context.notes["x-cache"] = "MISS"
            return nil
        }
        let response = HitResponder.needsRepresentationLogic(request)
            ? HitResponder.representation(request, entry: entry, xCache: cache.config.xCacheHeader)
            : HitResponder.full(entry)
        // A plain hit leaves no note (no allocation); `filter` recognises it.
        if !HitResponder.isPlainHit(response) { context.notes["x-cache"] = "HIT" }
        if !request.isHead { cache.countServed(bytes: response.body.count, worker: worker) }
        return response
    }

    public func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext) {
        let note = context.notes["x-cache"]
        if note == "HIT" || (note == nil && HitResponder.isPlainHit(response)) { return }
        var mark = note ?? "BYPASS"
        if mark == "MISS", response.status == 200, let origin = response.origin {
            let outcome = cache.admit(site: context.site.names.first ?? "", path: request.path, origin: origin,
                                      worker: context.connection.workerID)
            if case .rejected = outcome { mark = "BYPASS" }
        }
        if cache.config.xCacheHeader && !response.headers.contains("X-Cache") {
            response.headers.set("X-Cache", mark)
        }
    }
}
