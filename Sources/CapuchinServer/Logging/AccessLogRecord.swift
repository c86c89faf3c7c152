import HTTPCore

/// One answered request as the access log sees it, whatever the format.
struct AccessLogRecord {
    var client: String
    /// nil for a request that could not be parsed (logged as "-").
    var method: String?
    var target: String?
    var version: String?
    var status: Int
    var bytes: Int
    var durationMicros: Int
    /// The cache's verdict ("HIT", "MISS", "BYPASS", "STALE", ...), nil when no cache answered.
    var cache: String?
    /// The backend a proxied request went to ("host:port"), nil otherwise.
    var upstream: String?
    var referer: String?
    var userAgent: String?
    /// Wall clock when the record was made (milliseconds since the epoch).
    var wallMillis: Int

    /// The record of an answered request: the cache verdict and the backend
    /// come from the context (`cacheVerdict`, `upstream`).
    init(request: HTTPRequest, context: RequestContext, client: String, status: Int, bytes: Int, nowNanos: UInt64, wallMillis: Int) {
        self.client = client
        method = request.method
        target = request.target
        version = request.version.text
        self.status = status
        self.bytes = bytes
        durationMicros = nowNanos > context.startNanos ? Int((nowNanos - context.startNanos) / 1000) : 0
        cache = context.cacheVerdict
        upstream = context.upstream
        self.wallMillis = wallMillis
        // Both in one pass by length first (a lookup by name each was a pass
        // over every field each, comparing names).
        let fields = request.headers.fields
        for i in fields.indices {
            switch fields[i].name.utf8.count {
            case 7 where referer == nil && fields[i].name.caseInsensitiveEquals("Referer"): referer = fields[i].value
            case 10 where userAgent == nil && fields[i].name.caseInsensitiveEquals("User-Agent"): userAgent = fields[i].value
            default: continue
            }
        }
    }

    /// A request refused before it was parsed (400, 431, ...).
    init(badRequestFrom client: String, status: Int, bytes: Int, wallMillis: Int) {
        self.client = client
        self.status = status
        self.bytes = bytes
        durationMicros = 0
        self.wallMillis = wallMillis
    }

    /// Records the X-Cache verdict the client is sent (a plain file-cache hit
    /// carries the field among its preformatted lines, and its handler has
    /// already noted the same verdict in the context).
    static func noteCacheVerdict(of response: Response, in context: RequestContext) {
        if let v = response.headers["X-Cache"] {
            context.cacheVerdict = v
        } else if context.cacheVerdict == nil, let lines = response.preformattedHeaders, let v = fieldValue(xCacheLine, in: lines) {
            context.cacheVerdict = v
        }
    }

    private static let xCacheLine = Array("X-Cache: ".utf8)

    /// The value after `prefix` at the start of one of the CRLF-separated `lines`.
    /// The marks a cache writes are returned as literals (nothing to make).
    static func fieldValue(_ prefix: [UInt8], in lines: [UInt8]) -> String? {
        lines.withUnsafeBufferPointer { l in
            prefix.withUnsafeBufferPointer { p in
                var start = 0
                while start + p.count <= l.count {
                    if UnsafeBufferPointer(rebasing: l[start..<(start + p.count)]).elementsEqual(p) {
                        var end = start + p.count
                        while end < l.count && l[end] != 13 && l[end] != 10 { end += 1 }
                        let value = UnsafeBufferPointer(rebasing: l[(start + p.count)..<end])
                        if let mark = cacheMark(value) { return mark.rawValue }
                        return String(decoding: value, as: UTF8.self)
                    }
                    guard let next = l[start...].firstIndex(of: 10) else { return nil }
                    start = next + 1
                }
                return nil
            }
        }
    }

    private static func cacheMark(_ v: UnsafeBufferPointer<UInt8>) -> CacheMark? {
        let candidate: CacheMark? = v.count == 3 ? .hit : v.count == 4 ? .miss : v.count == 6 ? .bypass : nil
        guard let candidate, v.elementsEqual(candidate.rawValue.utf8) else { return nil }
        return candidate
    }
}
