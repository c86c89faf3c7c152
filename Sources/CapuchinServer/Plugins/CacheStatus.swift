/// The `Cache-Status` response field (RFC 9211): how this cache handled the
/// request, beside the older `X-Cache`. One member, named `capuchin`; the file
/// cache and the proxy cache both write it.
public enum CacheStatus {
    public static let fieldName = "Cache-Status"
    static let cacheName = "capuchin"

    /// Why the request went to the origin (RFC 9211 2.2).
    public enum Forward: String, Sendable {
        /// Nothing stored under the request's URI.
        case uriMiss = "uri-miss"
        /// Responses stored for the URI, none for these request headers (Vary).
        case varyMiss = "vary-miss"
        /// A stored response had to be revalidated.
        case stale
        /// The method is not served from the cache.
        case method
        /// The cache chose not to serve it (a file its rules do not admit).
        case bypass
    }

    /// A file-cache hit (freshness is its file's: checked by stat, no ttl).
    public static let hit = "\(cacheName); hit"

    /// A response served from the cache without going to the origin; `ttl` is
    /// negative for a stale one served while it is refreshed.
    public static func hit(ttl: Int64, detail: String? = nil) -> String {
        var s = "\(cacheName); hit; ttl=\(ttl)"
        if let detail { s += "; detail=\(detail)" }
        return s
    }

    /// A response that went to the origin. `status`: the origin's (nil when
    /// none answered); `stored`: whether it is now in the cache; `collapsed`:
    /// it answered several coalesced requests; `detail`: why it is not stored.
    public static func forwarded(_ reason: Forward, status: Int?, stored: Bool = false, ttl: Int64? = nil,
                                 collapsed: Bool = false, detail: String? = nil) -> String {
        var s = "\(cacheName); fwd=\(reason.rawValue)"
        if let status { s += "; fwd-status=\(status)" }
        if let ttl { s += "; ttl=\(ttl)" }
        if stored { s += "; stored" }
        if collapsed { s += "; collapsed" }
        if let detail { s += "; detail=\(detail)" }
        return s
    }
}
