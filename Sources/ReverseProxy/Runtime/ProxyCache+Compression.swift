import CapuchinServer
import CapuchinSystem
import FileCache
import HTTPCore

/// The proxy cache's side of compression (issue 15): a fresh hit of a stored
/// compressible identity 200 is answered with its encoded variant when the
/// client accepts one (`ResponseCompressor`: compressed once, stored beside
/// the index); every response of such a stored response varies on
/// Accept-Encoding. An origin's own Content-Encoding is passed through.
extension ProxyCache {
    /// The encoded response to `request` from `object`, or nil (identity); for
    /// an identity answer of a compressible response, `Vary: Accept-Encoding`
    /// is added to `perHit` when the stored fields do not say it already.
    func encodedResponse(for object: CachedObject, mapping: MappedFile, head: HitHead, request: HTTPRequest,
                         perHit: inout HTTPHeaders) -> Response? {
        let stored = object.response
        let size = Int(object.entry.size)
        guard stored.status == 200, let compressor,
              compressor.compresses(contentType: head.contentType, size: size, storedHeaders: stored.headers) else { return nil }
        let storedVary = head.fields["Vary"]
        let variesAlready = storedVary.map { v in
            v.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "accept-encoding" }
        } ?? false
        let fields = Self.variantFields(head.fields, variesAlready: variesAlready)
        guard let v = compressor.encoded(key: object.entry.key, bodyPath: object.entry.bodyPath, mapping: mapping, size: size,
                                         storedAtNanos: object.entry.insertedAtNanos, contentType: head.contentType ?? "",
                                         etag: stored.etag, requestHeaders: request.headers, makeHead: { coding, etag in
                                             var h = HTTPHeaders()
                                             if let ct = head.contentType { h.add("Content-Type", ct) }
                                             for f in fields { h.add(f.name, f.value) }
                                             h.add("ETag", etag)
                                             h.add("Content-Encoding", coding)
                                             h.add("Accept-Ranges", "bytes")
                                             var lines: [UInt8] = []
                                             HeadSerializer.appendFields(h, to: &lines)
                                             return lines
                                         }) else {
            if !variesAlready { perHit.add("Vary", "Accept-Encoding") }
            return nil
        }
        if !ConditionalEvaluator.hasPreconditionOrRange(request.headers) {
            var r = Response(status: 200, headers: perHit, body: v.body.slice(offset: 0, count: v.size), preformattedHeaders: v.head)
            r.carriesDate = head.carriesDate
            return r
        }
        var h = fields
        h.add("ETag", v.etag)
        h.add("Content-Encoding", v.coding)
        for f in perHit { h.add(f.name, f.value) }
        var r = RepresentationResponder.respond(request: request, etag: v.etag, lastModifiedSeconds: stored.dates.lastModified,
                                                contentType: head.contentType, size: v.size, headers: h) { v.body.slice(offset: $0, count: $1) }
        r.carriesDate = head.carriesDate && r.headers.contains("Date")
        return r
    }

    /// The stored fields of a variant: without the identity's ETag, with Accept-Encoding in Vary.
    static func variantFields(_ fields: HTTPHeaders, variesAlready: Bool) -> HTTPHeaders {
        var h = HTTPHeaders()
        for f in fields where !f.name.caseInsensitiveEquals("ETag") { h.add(f.name, f.value) }
        if !variesAlready { h.add("Vary", "Accept-Encoding") }
        return h
    }
}

extension ProxyPlugin {
    /// The proxy cache's compression counters (nil without a cache), for the admin API.
    public var compressionStats: CompressionStats? { cache?.compressor?.stats }
}
