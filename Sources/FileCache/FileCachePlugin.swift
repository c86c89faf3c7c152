import CapuchinServer
import HTTPCore
import Synchronization

/// The `cache` plugin: answers hits from the file cache before the static
/// handler, and admits what the static handler served on a miss.
/// Marks every response with `X-Cache: HIT | MISS | BYPASS` (config `x_cache_header`).
public final class FileCachePlugin: Plugin, @unchecked Sendable {
    public let name = "cache"
    public let cache: FileCache
    private let runningWorkers = Atomic<Int>(0)

    public init(cache: FileCache) { self.cache = cache }

    public func workerStarted(workerID: Int) { runningWorkers.wrappingAdd(1, ordering: .relaxed) }

    /// The last worker to stop persists hit counts and policy state and flushes the store.
    public func workerStopping(workerID: Int) {
        if runningWorkers.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 { shutdown() }
    }

    /// Persists and flushes (process shutdown); errors are logged.
    public func shutdown() {
        do { try cache.persistState() } catch { cache.log("cache: flushing the store failed: \(error)") }
    }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> Response? {
        guard cache.config.enabled, request.method == "GET" || request.method == "HEAD" else { return nil }
        let conditional = HitResponder.needsRepresentationLogic(request)
        if conditional && !HitResponder.answersRepresentation {
            context.notes["x-cache"] = "BYPASS"
            return nil
        }
        let worker = context.connection.workerID
        guard let entry = cache.lookup(site: context.site.names.first ?? "", path: request.path, worker: worker) else {
            context.notes["x-cache"] = "MISS"
            return nil
        }
        let response: Response
        if conditional {
            guard let r = HitResponder.representation(request, entry: entry) else {
                context.notes["x-cache"] = "BYPASS"
                return nil
            }
            response = r
        } else {
            response = HitResponder.full(entry)
        }
        // A plain hit leaves no note (no allocation); `filter` recognises it.
        if !HitResponder.isPlainHit(response) { context.notes["x-cache"] = "HIT" }
        if !request.isHead { cache.countServed(bytes: response.body.count, worker: worker) }
        return response
    }

    public func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext) {
        let note = context.notes["x-cache"]
        if note == "HIT" || (note == nil && HitResponder.isPlainHit(response)) { return }
        var mark = note ?? "BYPASS"
        if mark == "MISS", let origin = response.origin, [200, 206, 304].contains(response.status) {
            let outcome = cache.admit(site: context.site.names.first ?? "", path: request.path, origin: origin,
                                      worker: context.connection.workerID)
            if case .rejected = outcome { mark = "BYPASS" }
        }
        if cache.config.xCacheHeader && !response.headers.contains("X-Cache") {
            response.headers.set("X-Cache", mark)
        }
    }
}
