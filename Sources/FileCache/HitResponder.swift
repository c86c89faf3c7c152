import CapuchinServer
import HTTPCore

/// Builds the response for a cache hit: the entry's prebuilt header bytes and
/// its mapping as the body, so the server writes both with one writev.
enum HitResponder {
    /// Whether the request carries a precondition or a Range, which the shared
    /// representation logic must answer (304, 206, 412, 416).
    @inline(__always)
    static func needsRepresentationLogic(_ request: HTTPRequest) -> Bool {
        ConditionalEvaluator.hasPreconditionOrRange(request.headers)
    }

    /// A plain 200. HEAD gets the same response: the server writes no body for
    /// HEAD and takes Content-Length from the body's count.
    @inline(__always)
    static func full(_ entry: CacheEntry) -> Response {
        Response(status: 200, body: entry.body(offset: 0, count: entry.identity.size), preformattedHeaders: entry.headerBytes)
    }

    /// Whether `response` is what `full` builds for a non-empty file: only the
    /// cache answers a mapping with preformatted headers and no origin.
    @inline(__always)
    static func isPlainHit(_ response: Response) -> Bool {
        guard response.status == 200, response.origin == nil, response.preformattedHeaders != nil else { return false }
        if case .mapped = response.body { return true }
        return false
    }

    /// The response to a conditional or Range request on a hit (304, 206,
    /// 412, 416 or 200), from the one function the static handler uses too.
    static func representation(_ request: HTTPRequest, entry: CacheEntry, xCache: Bool) -> Response {
        let rep = Representation(contentType: entry.contentType, etag: entry.etag,
                                 lastModifiedSeconds: Int(entry.identity.mtimeNanos / 1_000_000_000), size: entry.identity.size)
        var r = RepresentationResponder.respond(request: request, representation: rep) { entry.body(offset: $0, count: $1) }
        if xCache { r.headers.add("X-Cache", "HIT") }
        return r
    }
}
