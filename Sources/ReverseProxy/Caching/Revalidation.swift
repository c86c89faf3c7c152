import HTTPCore

/// Validation of stored responses (RFC 9111 4.3).
public enum Revalidation {
    /// Client preconditions and Range dropped from a cache's own request: the
    /// cache validates its stored response, then answers the client itself.
    static let clientConditionals = ["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"]

    /// The request to send upstream to validate `stored`: a GET with its
    /// validators (If-None-Match from ETag, If-Modified-Since from Last-Modified).
    public static func conditionalRequest(for request: HTTPRequest, stored: StoredResponse) -> HTTPRequest {
        var r = request
        r.method = "GET"
        for name in clientConditionals { r.headers.remove(name) }
        if let etag = stored.etag { r.headers.add("If-None-Match", etag) }
        if let lastModified = stored.lastModified { r.headers.add("If-Modified-Since", lastModified) }
        return r
    }

    /// A request that fills or refreshes the cache: client preconditions and
    /// Range removed so the origin sends the whole representation.
    public static func fillRequest(for request: HTTPRequest) -> HTTPRequest {
        var r = request
        r.method = "GET"
        for name in clientConditionals { r.headers.remove(name) }
        return r
    }

    /// `stored` updated by a 304 (RFC 9111 3.2, 4.3.4): each field of the 304
    /// replaces the stored ones of that name, except hop-by-hop fields and
    /// Content-Length; the times restart. Returns nil when the 304 carries a
    /// strong ETag different from the stored one (it validates another response).
    public static func merge(notModified headers: HTTPHeaders, into stored: StoredResponse,
                             requestTime: Int64, responseTime: Int64) -> StoredResponse? {
        if let newTag = headers["ETag"], let oldTag = stored.etag, !newTag.hasPrefix("W/"), newTag != oldTag { return nil }
        let hop = HopByHop.names(in: headers)
        var replaced = Set<String>()
        var merged = stored.headers
        // Age and Date describe the old response; the 304's (or none) apply now.
        merged.remove("Age")
        merged.remove("Date")
        for field in headers {
            let name = FieldSyntax.lowercased(field.name)
            if hop.contains(name) || name == "content-length" { continue }
            if replaced.insert(name).inserted { merged.remove(field.name) }
            merged.add(field.name, field.value)
        }
        var updated = stored
        updated.headers = merged
        updated.requestTime = requestTime
        updated.responseTime = responseTime
        return updated
    }
}
