import CapuchinServer
import CapuchinSystem
import HTTPCore
import Glibc

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
        // A half-loaded index must not overwrite the stored policy state.
        cache.waitUntilLoaded()
        do { try cache.persistState() } catch { cache.log("cache: flushing the store failed: \(error)") }
        cache.persistence?.close()
    }

    public var phases: PluginPhases { [.handle, .filter] }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
        hit(request, context: context).map(HandlerResult.respond) ?? .pass
    }

    /// The cached response for a hit, nil for a miss (noted for `filter`).
    @inline(__always)
    func hit(_ request: HTTPRequest, context: RequestContext) -> Response? {
        guard cache.config.enabled, request.method == "GET" || request.method == "HEAD" else { return nil }
        let worker = context.connection.workerID
        // An entry from another document root (the site's root changed on reload) is a miss;
        // the admission that follows replaces it.
        guard let entry = cache.lookup(site: context.site.names.first ?? "", path: request.path, worker: worker,
                                        receivedBy: context.receivedByNanos),
              Self.isInside(entry.originPath, root: context.site.root) else {
            context.notes["x-cache"] = "MISS"
            return nil
        }
        guard HitResponder.needsRepresentationLogic(request) else {
            // A plain hit leaves no note (no allocation); `filter` recognises it.
            // Returned without a local: holding it first cost a copy of the response.
            let size = entry.identity.size
            if size == 0 || entry.mapping == nil { context.notes["x-cache"] = "HIT" }
            if !request.isHead { cache.countServed(bytes: size, worker: worker) }
            return HitResponder.full(entry)
        }
        let response = HitResponder.representation(request, entry: entry, xCache: cache.config.xCacheHeader)
        context.notes["x-cache"] = "HIT"
        if !request.isHead { cache.countServed(bytes: response.body.count, worker: worker) }
        return response
    }

    /// `path` lies under the directory `root`: a byte comparison (String's
    /// `hasPrefix` and `starts(with:)` cost 2% of a hit in grapheme checks).
    static func isInside(_ path: String, root: String) -> Bool {
        var path = path, root = root
        return path.withUTF8 { p in
            root.withUTF8 { r in
                guard p.count >= r.count, r.count > 0, memcmp(p.baseAddress!, r.baseAddress!, r.count) == 0 else { return false }
                return p.count == r.count || r[r.count - 1] == UInt8(ascii: "/") || p[r.count] == UInt8(ascii: "/")
            }
        }
    }

    /// `body` with its large slices of the origin file sent from a mapping
    /// (copied into the socket by writev) instead of by sendfile: the pages
    /// sendfile queues stay shared with the file, so a truncation after the call
    /// would still change the bytes a client reads (a 200 with wrong bytes).
    /// Files larger than `max_file_size` keep sendfile, as in nginx.
    static func copiedBody(_ body: ResponseBody, origin: FileOrigin, above threshold: Int) -> ResponseBody {
        var mapping: MappedFile?
        func convert(_ b: ResponseBody) -> ResponseBody {
            switch b {
            case .file(let f, let off, let n) where f === origin.file && n > threshold:
                if mapping == nil { mapping = try? MappedFile(fd: f.fd, count: origin.identity.size,
                                                                   source: (origin.path, origin.identity)) }
                guard let m = mapping, off + n <= m.count else { return b }
                return .mapped(m, offset: off, count: n)
            case .parts(let parts):
                return .parts(parts.map(convert))
            default:
                return b
            }
        }
        return convert(body)
    }

    public func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext) {
        let note = context.notes["x-cache"]
        if note == "HIT" || (note == nil && HitResponder.isPlainHit(response)) { return }
        var mark = note ?? "BYPASS"
        if mark == "MISS", response.status == 200, let origin = response.origin {
            let outcome = cache.admit(site: context.site.names.first ?? "", path: request.path, origin: origin,
                                      worker: context.connection.workerID, observedSince: context.receivedByNanos == .max ? 0 : context.receivedByNanos)
            if case .rejected = outcome { mark = "BYPASS" }
        }
        if mark != "HIT", let origin = response.origin, origin.identity.size <= cache.config.maxFileSize {
            response.body = Self.copiedBody(response.body, origin: origin, above: context.settings.config.sendfileThreshold)
        }
        if cache.config.xCacheHeader && !response.headers.contains("X-Cache") {
            response.headers.set("X-Cache", mark)
        }
    }
}
