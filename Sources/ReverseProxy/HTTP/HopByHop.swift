import HTTPCore

/// Hop-by-hop fields (RFC 9110 7.6.1): they describe one connection and are
/// never forwarded, in either direction.
enum HopByHop {
    static let fields: [String] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// The lowercased names of every hop-by-hop field in `headers`, including
    /// the ones the Connection header names.
    static func names(in headers: HTTPHeaders) -> Set<String> {
        var names = Set(fields)
        for token in FieldSyntax.listElements(headers.values("Connection")) + FieldSyntax.listElements(headers.values("Proxy-Connection")) {
            names.insert(FieldSyntax.lowercased(token))
        }
        return names
    }

    /// `headers` without hop-by-hop fields.
    static func stripped(_ headers: HTTPHeaders) -> HTTPHeaders {
        let drop = names(in: headers)
        var out = HTTPHeaders()
        for field in headers where !drop.contains(FieldSyntax.lowercased(field.name)) {
            out.add(field.name, field.value)
        }
        return out
    }
}
