/// The four request-target forms of RFC 9112 section 3.2, resolved into the
/// fields `HTTPRequest` carries.
struct RequestTarget {
    var path: String
    var query: String?
    /// The authority's host for absolute-form and authority-form; it replaces Host.
    var host: String?
    var hasBackslash = false

    /// `text` is `p[range]` as a String already made (see `PathNormalizer.normalize`).
    /// - Throws: `HTTPParseError` (400) for a form the method may not use, a
    ///   bad authority, userinfo, an unknown scheme, or a path `PathNormalizer` refuses.
    static func parse(_ p: UnsafeRawBufferPointer, _ range: Range<Int>, text: String, method: Range<Int>) throws -> RequestTarget {
        let first = p[range.lowerBound]
        let isConnect = p.equalsCase(method, "CONNECT")
        if first == UInt8(ascii: "/") && !isConnect {
            return try originForm(p, range, made: (range, text))
        }
        if isConnect {
            guard let host = HostSyntax.parse(p, range, allowEmpty: false, requirePort: true) else {
                throw HTTPParseError(status: 400, reason: "CONNECT needs an authority-form target (host:port)")
            }
            return RequestTarget(path: "", query: nil, host: host)
        }
        if first == UInt8(ascii: "*") {
            guard range.count == 1, p.equalsCase(method, "OPTIONS") else {
                throw HTTPParseError(status: 400, reason: "asterisk-form is only for OPTIONS")
            }
            return RequestTarget(path: "*", query: nil, host: nil)
        }
        return try absoluteForm(p, range)
    }

    private static func originForm(_ p: UnsafeRawBufferPointer, _ range: Range<Int>,
                                   made: (range: Range<Int>, string: String)? = nil) throws -> RequestTarget {
        var q = range.lowerBound
        while q < range.upperBound, p[q] != UInt8(ascii: "?") { q += 1 }
        let normalized = try PathNormalizer.normalize(p, range.lowerBound..<q, made: made)
        let query = q < range.upperBound ? p.string(q + 1..<range.upperBound) : nil
        return RequestTarget(path: normalized.path, query: query, host: nil, hasBackslash: normalized.hasBackslash)
    }

    private static func absoluteForm(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) throws -> RequestTarget {
        var i = range.lowerBound
        if p.equalsLowercase(i..<min(i + 7, range.upperBound), "http://") {
            i += 7
        } else if p.equalsLowercase(i..<min(i + 8, range.upperBound), "https://") {
            i += 8
        } else {
            throw HTTPParseError(status: 400, reason: "request-target is not origin-form or an http(s) absolute URI")
        }
        let authorityStart = i
        while i < range.upperBound, p[i] != UInt8(ascii: "/"), p[i] != UInt8(ascii: "?") {
            if p[i] == UInt8(ascii: "@") { throw HTTPParseError(status: 400, reason: "userinfo in request-target") }
            i += 1
        }
        guard let host = HostSyntax.parse(p, authorityStart..<i, allowEmpty: false, requirePort: false) else {
            throw HTTPParseError(status: 400, reason: "invalid authority in absolute-form target")
        }
        var result: RequestTarget
        if i == range.upperBound {
            result = RequestTarget(path: "/", query: nil, host: host)
        } else if p[i] == UInt8(ascii: "?") {
            result = RequestTarget(path: "/", query: p.string(i + 1..<range.upperBound), host: host)
        } else {
            result = try originForm(p, i..<range.upperBound)
            result.host = host
        }
        return result
    }
}

extension UnsafeRawBufferPointer {
    /// Exact (case-sensitive) comparison of `self[range]` with a literal.
    @inline(__always)
    func equalsCase(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount, range.lowerBound >= 0, range.upperBound <= count else { return false }
        return ByteClass.bytesEqual(baseAddress! + range.lowerBound, UnsafeRawPointer(literal.utf8Start), count: range.count)
    }
}
