import HTTPCore

/// What a conditional or range response needs to know about a stored representation.
public struct Representation: Sendable, Equatable {
    public var contentType: String
    /// A strong entity tag, quotes included.
    public var etag: String
    public var lastModifiedSeconds: Int
    public var size: Int

    public init(contentType: String, etag: String, lastModifiedSeconds: Int, size: Int) {
        self.contentType = contentType
        self.etag = etag
        self.lastModifiedSeconds = lastModifiedSeconds
        self.size = size
    }
}

/// The one place conditional requests and ranges are answered, shared by the
/// static handler and the cache's hit path: 200, 304, 412, 206 (single or
/// multipart/byteranges) or 416, from the representation's metadata and a way
/// to slice its body (`.bytes`, `.mapped` or `.file`).
public enum RepresentationResponder {
    /// Builds the response. `body(offset, count)` is called only for the slices
    /// actually sent; what it throws is rethrown (e.g. a read error -> the caller answers 500).
    public static func respond(request: HTTPRequest, representation rep: Representation, maxRanges: Int,
                               body: (_ offset: Int, _ count: Int) throws -> ResponseBody) rethrows -> Response {
        var h = HTTPHeaders()
        h.add("Content-Type", rep.contentType)
        h.add("Last-Modified", HTTPDate.format(epochSeconds: rep.lastModifiedSeconds))
        h.add("ETag", rep.etag)
        h.add("Accept-Ranges", "bytes")
        return Response(status: 200, headers: h, body: try body(0, rep.size))
    }
}
