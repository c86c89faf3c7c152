import HTTPCore

/// Parsed Cache-Control directives (RFC 9111 5.2) of a request or response.
/// Unknown directives are ignored; for a repeated directive the first wins; an
/// invalid max-age or s-maxage counts as 0 (stale), as RFC 9111 4.2.1 advises.
public struct CacheControl: Sendable, Equatable {
    public var maxAge: Int64?
    public var sMaxAge: Int64?
    public var noStore = false
    /// `no-cache` without field names: never used without revalidation.
    public var noCache = false
    /// `no-cache="a, b"`: those fields are not sent from the cache (lowercased).
    public var noCacheFields: [String] = []
    /// `private` without field names: a shared cache never stores it.
    public var isPrivate = false
    /// `private="a, b"`: those fields are not stored (lowercased).
    public var privateFields: [String] = []
    public var isPublic = false
    public var mustRevalidate = false
    public var proxyRevalidate = false
    public var staleWhileRevalidate: Int64?
    public var staleIfError: Int64?
    /// `must-understand`: store only a status this cache understands, even
    /// with `no-store` (RFC 9111 5.2.2.3).
    public var mustUnderstand = false
    /// From a targeted field (RFC 9213): `Expires` is ignored with it.
    public var isTargeted = false

    public init() {}

    /// The directives this cache follows for a response: its targeted field's
    /// when one is valid (RFC 9213), else Cache-Control's.
    public static func forResponse(_ headers: HTTPHeaders) -> CacheControl {
        TargetedCacheControl.directives(in: headers) ?? CacheControl(headers)
    }

    /// From every Cache-Control field in `headers`.
    public init(_ headers: HTTPHeaders) { self.init(values: headers.values("Cache-Control")) }

    public init(values: [String]) {
        var seen = Set<String>()
        for element in FieldSyntax.listElements(values) {
            let name: String, argument: Substring?
            if let eq = element.firstIndex(of: "=") {
                name = FieldSyntax.lowercased(FieldSyntax.trimOWS(element[..<eq]))
                argument = FieldSyntax.unquote(FieldSyntax.trimOWS(element[element.index(after: eq)...]))
            } else {
                name = FieldSyntax.lowercased(element)
                argument = nil
            }
            guard seen.insert(name).inserted else { continue }
            switch name {
            case "max-age": maxAge = Self.deltaSeconds(argument) ?? 0
            case "s-maxage": sMaxAge = Self.deltaSeconds(argument) ?? 0
            case "no-store": noStore = true
            case "no-cache":
                if let argument, !argument.isEmpty { noCacheFields = Self.fieldNames(argument) } else { noCache = true }
            case "private":
                if let argument, !argument.isEmpty { privateFields = Self.fieldNames(argument) } else { isPrivate = true }
            case "public": isPublic = true
            case "must-understand": mustUnderstand = true
            case "must-revalidate": mustRevalidate = true
            case "proxy-revalidate": proxyRevalidate = true
            case "stale-while-revalidate": staleWhileRevalidate = Self.deltaSeconds(argument)
            case "stale-if-error": staleIfError = Self.deltaSeconds(argument)
            default: break
            }
        }
    }

    /// delta-seconds (RFC 9111 1.2.2); values past 2^31 are capped there.
    static func deltaSeconds(_ s: Substring?) -> Int64? {
        guard let s, !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if s.count > 10 { return 2_147_483_648 }
        return min(Int64(s)!, 2_147_483_648)
    }

    static func fieldNames(_ s: Substring) -> [String] {
        FieldSyntax.listElements([String(s)]).map { FieldSyntax.lowercased($0) }
    }
}
