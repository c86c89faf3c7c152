import HTTPCore

/// The secondary cache key (RFC 9111 4.1): the request's values of the fields
/// a response's `Vary` names. `Vary: *` matches no request.
public struct VaryKey: Sendable, Equatable {
    /// Lowercased, sorted, unique field names.
    public let fields: [String]
    /// Whether `Vary` contained `*`.
    public let matchesNothing: Bool
    /// The request's normalized values of `fields` (absent and empty differ).
    public let value: String

    /// The key a stored response gets: `Vary` from its response headers, the
    /// values from the request that produced it.
    public init(responseHeaders: HTTPHeaders, request: HTTPHeaders) {
        let names = FieldSyntax.listElements(responseHeaders.values("Vary")).map { FieldSyntax.lowercased($0) }
        matchesNothing = names.contains("*")
        fields = Array(Set(names.filter { $0 != "*" })).sorted()
        value = Self.value(of: fields, in: request)
    }

    init(fields: [String], matchesNothing: Bool, value: String) {
        self.fields = fields
        self.matchesNothing = matchesNothing
        self.value = value
    }

    /// Whether a stored response with this key may answer `request`.
    public func matches(_ request: HTTPHeaders) -> Bool {
        !matchesNothing && Self.value(of: fields, in: request) == value
    }

    /// Values joined per field; list elements are trimmed and re-joined with
    /// "," so whitespace differences do not split the cache.
    static func value(of fields: [String], in request: HTTPHeaders) -> String {
        var out = ""
        for name in fields {
            let values = request.values(name)
            out += name
            if values.isEmpty {
                out += "\u{0}"
            } else if name == "accept-encoding" {
                out += "="
                out += Self.normalizedAcceptEncoding(values)
            } else {
                out += "="
                out += FieldSyntax.listElements(values).joined(separator: ",")
            }
            out += "\u{1}"
        }
        return out
    }

    /// The content codings an origin may choose from, in a fixed order.
    static let knownCodings = ["br", "zstd", "gzip", "deflate", "compress"]

    /// Accept-Encoding reduced to the known codings it accepts (q > 0, `*`
    /// standing for every one not named), so the many spellings browsers send
    /// ("gzip, deflate, br", "br;q=1.0, gzip;q=0.8, *;q=0.1") share variants.
    /// Identity is always acceptable to a cache's origin, so it is left out.
    static func normalizedAcceptEncoding(_ values: [String]) -> String {
        var accepted = Set<String>()
        var named = Set<String>()
        var star = false
        for element in FieldSyntax.listElements(values) {
            let parts = element.split(separator: ";")
            let coding = FieldSyntax.lowercased(FieldSyntax.trimOWS(parts[0]))
            var q = 1.0
            for p in parts.dropFirst() {
                let kv = FieldSyntax.trimOWS(p)
                if kv.lowercased().hasPrefix("q="), let v = Double(kv.dropFirst(2)) { q = v }
            }
            named.insert(coding == "x-gzip" ? "gzip" : coding)
            if coding == "*" { star = q > 0; continue }
            if q > 0 { accepted.insert(coding == "x-gzip" ? "gzip" : coding) }
        }
        return knownCodings.filter { accepted.contains($0) || (star && !named.contains($0)) }.joined(separator: ",")
    }
}
