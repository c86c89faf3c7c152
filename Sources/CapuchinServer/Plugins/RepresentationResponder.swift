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
/// multipart/byteranges) or 416, decided by HTTPCore's ConditionalEvaluator,
/// from the representation's metadata and a way to slice its body.
public enum RepresentationResponder {
    /// Builds the response. `body(offset, count)` is called only for the slices
    /// actually sent (as `.bytes`, `.mapped` or `.file`); what it throws is
    /// rethrown (e.g. a read error, which the caller answers with 500).
    /// The range count is capped by HTTPCore (`ByteRanges.maxRanges`; more -> 200).
    /// `decision`: the request already evaluated against this representation (nil: evaluated here).
    public static func respond(request: HTTPRequest, representation rep: Representation, decision: RepresentationDecision? = nil,
                               body: (_ offset: Int, _ count: Int) throws -> ResponseBody) rethrows -> Response {
        var h = HTTPHeaders()
        h.add("Last-Modified", HTTPDate.format(epochSeconds: rep.lastModifiedSeconds))
        h.add("ETag", rep.etag)
        return try respond(request: request, etag: rep.etag, lastModifiedSeconds: rep.lastModifiedSeconds,
                           contentType: rep.contentType, size: rep.size, headers: h, decision: decision, body: body)
    }

    /// The same for a representation whose validators may be absent or weak
    /// and whose 200 carries more fields (a proxied response from the cache):
    /// `headers` go on the 200, 206 and 304; Content-Type (when given) on the
    /// 200 and a single-part 206; `Accept-Ranges: bytes` on the 200 and 206.
    /// `headers` must not contain Content-Type, Content-Length or Accept-Ranges.
    /// Rethrows what `body` throws.
    public static func respond(request: HTTPRequest, etag: String?, lastModifiedSeconds: Int?, contentType: String?,
                               size: Int, headers: HTTPHeaders, decision given: RepresentationDecision? = nil,
                               body: (_ offset: Int, _ count: Int) throws -> ResponseBody) rethrows -> Response {
        let decision = given ?? ConditionalEvaluator.evaluate(method: request.method, headers: request.headers, etag: etag,
                                                              lastModifiedSeconds: lastModifiedSeconds, length: size)
        switch decision {
        case .notModified:
            return Response(status: 304, headers: headers)
        case .preconditionFailed:
            return ErrorPage.response(412)
        case .unsatisfiable:
            var r = ErrorPage.response(416)
            r.headers.add("Content-Range", ByteRanges.unsatisfiedContentRange(length: size))
            return r
        case .full:
            var h = HTTPHeaders()
            if let contentType { h.add("Content-Type", contentType) }
            for f in headers { h.add(f.name, f.value) }
            h.add("Accept-Ranges", "bytes")
            return Response(status: 200, headers: h, body: try body(0, size))
        case .partial(let ranges):
            var h = headers
            h.add("Accept-Ranges", "bytes")
            if ranges.count == 1 {
                let r = ranges[0]
                if let contentType { h.add("Content-Type", contentType) }
                h.add("Content-Range", ByteRanges.contentRange(r, length: size))
                return Response(status: 206, headers: h, body: try body(r.lowerBound, r.count))
            }
            var rng = SystemRandomNumberGenerator()
            let multipart = MultipartByteranges(boundary: MultipartByteranges.makeBoundary(using: &rng))
            let layout = multipart.layout(ranges: ranges, totalLength: size, contentType: contentType ?? "application/octet-stream")
            var parts: [ResponseBody] = []
            parts.reserveCapacity(ranges.count * 2 + 1)
            for (head, r) in zip(layout.heads, ranges) {
                parts.append(.bytes(head))
                parts.append(try body(r.lowerBound, r.count))
            }
            parts.append(.bytes(multipart.closing))
            h.add("Content-Type", multipart.contentType)
            return Response(status: 206, headers: h, body: .parts(parts))
        }
    }
}
