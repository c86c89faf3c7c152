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

    /// The record of an answered request. The cache verdict comes from the
    /// context's notes ("x-cache", left by the file cache and the proxy) or the
    /// response's X-Cache field; the backend from the "upstream" note.
    init(request: HTTPRequest, context: RequestContext, client: String, status: Int, bytes: Int, nowNanos: UInt64, wallMillis: Int) {
        self.client = client
        method = request.method
        target = request.target
        version = request.version.text
        self.status = status
        self.bytes = bytes
        durationMicros = nowNanos > context.startNanos ? Int((nowNanos - context.startNanos) / 1000) : 0
        cache = context.notes[AccessLogRecord.cacheNote]
        upstream = context.notes[AccessLogRecord.upstreamNote]
        referer = request.headers["Referer"]
        userAgent = request.headers["User-Agent"]
        self.wallMillis = wallMillis
    }

    /// A request refused before it was parsed (400, 431, ...).
    init(badRequestFrom client: String, status: Int, bytes: Int, wallMillis: Int) {
        self.client = client
        self.status = status
        self.bytes = bytes
        durationMicros = 0
        self.wallMillis = wallMillis
    }

    /// The note names a stage leaves in `RequestContext.notes` for the log.
    static let cacheNote = "x-cache"
    static let upstreamNote = "upstream"

    /// Records the X-Cache verdict the client is sent, which wins over an
    /// earlier stage's note (the file cache notes MISS before the proxy answers
    /// a request with its own HIT). A plain file-cache hit carries the field among
    /// its preformatted lines. Without the field (x_cache_header off) the note stays.
    static func noteCacheVerdict(of response: Response, in context: RequestContext) {
        if let v = response.headers["X-Cache"] {
            context.notes[cacheNote] = v
        } else if let lines = response.preformattedHeaders, let v = fieldValue(xCacheLine, in: lines) {
            context.notes[cacheNote] = v
        }
    }

    private static let xCacheLine = Array("X-Cache: ".utf8)

    /// The value after `prefix` at the start of one of the CRLF-separated `lines`.
    static func fieldValue(_ prefix: [UInt8], in lines: [UInt8]) -> String? {
        var start = 0
        while start + prefix.count <= lines.count {
            if lines[start..<(start + prefix.count)].elementsEqual(prefix) {
                var end = start + prefix.count
                while end < lines.count && lines[end] != 13 && lines[end] != 10 { end += 1 }
                return String(decoding: lines[(start + prefix.count)..<end], as: UTF8.self)
            }
            guard let next = lines[start...].firstIndex(of: 10) else { return nil }
            start = next + 1
        }
        return nil
    }
}
