/// Strict RFC 9112 request-head parser. Stateless: call `parse` with all
/// bytes received so far for the current request; it never reads past the head.
///
/// Choices where RFC 9112 leaves room (all answered 400 unless noted):
/// - Line endings must be CRLF. A bare LF (which RFC 9112 2.2 lets a recipient
///   accept) and a bare CR are refused: lenient line parsing is what request
///   smuggling between a proxy and a server exploits.
/// - Up to `maxLeadingEmptyLines` CRLFs before the request line are skipped (2.2).
/// - obs-fold, whitespace before a colon, empty field names, CTLs (NUL...) in values.
/// - Content-Length: digits only, one field with one value (even identical
///   duplicates are refused), at most 18 digits.
/// - Transfer-Encoding: exactly `chunked` is accepted; a list whose last coding is not
///   `chunked` is 400 (6.3), other codings before a final `chunked` are 501, TE with
///   Content-Length or in HTTP/1.0 is 400.
/// - Version `HTTP/1.x` with x > 1 is treated as HTTP/1.1 (RFC 9110 2.5); another
///   major version is 505; a request line without a version (HTTP/0.9) is 400.
/// - Request-target bytes: VCHAR except `#`; non-ASCII must be percent-encoded.
/// Header values may hold obs-text; they become Strings with invalid UTF-8 replaced.
///
/// Parsing restarts from the first byte on every call, so a caller that receives
/// a head in many small reads should call again only once a read brought a LF.
public struct RequestParser: Sendable {
    public var limits: ParserLimits

    /// Empty lines tolerated before the request line.
    public static let maxLeadingEmptyLines = 4

    public init(limits: ParserLimits = ParserLimits()) { self.limits = limits }

    /// Parses the head at the start of `bytes`. Never throws; invalid input is
    /// reported as `.invalid` with the status to answer (400, 414, 431, 501, 505).
    public func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        var storage = HTTPHeaders()
        return parse(bytes, fieldStorage: &storage)
    }

    /// `parse`, building the request's fields in `fieldStorage`'s array (taken,
    /// left empty): a caller that hands back the storage of each request it has
    /// answered (`HTTPHeaders.removeAll(keepingCapacity:)`) saves an allocation
    /// and a free per request.
    public func parse(_ bytes: UnsafeRawBufferPointer, fieldStorage: inout HTTPHeaders) -> ParseResult {
        do {
            return try parseHead(bytes, &fieldStorage)
        } catch let error as HTTPParseError {
            return .invalid(error)
        } catch {
            return .invalid(HTTPParseError(status: 400, reason: "bad request"))
        }
    }

    private func fail(_ status: Int, _ reason: String) -> HTTPParseError {
        HTTPParseError(status: status, reason: reason)
    }

    private func parseHead(_ p: UnsafeRawBufferPointer, _ fieldStorage: inout HTTPHeaders) throws -> ParseResult {
        let n = p.count
        var i = 0
        // Leading empty lines (RFC 9112 2.2).
        var emptyLines = 0
        while i < n, p[i] == ByteClass.cr || p[i] == ByteClass.lf {
            guard p[i] == ByteClass.cr else { throw fail(400, "bare LF line ending") }
            guard i + 1 < n else { return .incomplete }
            guard p[i + 1] == ByteClass.lf else { throw fail(400, "bare CR") }
            emptyLines += 1
            if emptyLines > Self.maxLeadingEmptyLines { throw fail(400, "too many empty lines before the request line") }
            i += 2
        }
        if i == n { return .incomplete }

        // Request line: method SP request-target SP HTTP-version CRLF.
        let lineStart = i
        let lineLimit = lineStart + limits.maxRequestLine  // CR may sit at most here
        func ranOut() throws -> ParseResult {
            if n > lineLimit { throw fail(414, "request line too long") }
            return .incomplete
        }
        while i < n, ByteClass.isToken(p[i]) { i += 1 }
        if i == n { return try ranOut() }
        if i > lineLimit { throw fail(414, "request line too long") }
        guard p[i] == ByteClass.sp else { throw fail(400, "invalid character in method") }
        guard i > lineStart else { throw fail(400, "empty method") }
        let method = lineStart..<i
        i += 1
        let targetStart = i
        i = ByteClass.skipPlain(p, from: i, targetBytes: true)
        while i < n, ByteClass.isTargetByte(p[i]) { i += 1 }
        if i == n { return try ranOut() }
        if i > lineLimit { throw fail(414, "request line too long") }
        let target = targetStart..<i
        let c = p[i]
        if c == ByteClass.cr || c == ByteClass.lf { throw fail(400, "request line has no HTTP version") }
        guard c == ByteClass.sp else { throw fail(400, "invalid character in request-target") }
        guard !target.isEmpty else { throw fail(400, "empty request-target") }
        i += 1
        let versionStart = i
        while i < n, p[i] != ByteClass.cr, i - versionStart < 8 { i += 1 }
        if i == n { return try ranOut() }
        if i > lineLimit { throw fail(414, "request line too long") }
        guard p[i] == ByteClass.cr else {
            throw fail(400, p[i] == ByteClass.lf ? "bare LF line ending" : "malformed HTTP version")
        }
        guard i + 1 < n else { return .incomplete }
        guard p[i + 1] == ByteClass.lf else { throw fail(400, "bare CR") }
        let version = try parseVersion(p, versionStart..<i)
        i += 2

        // Field lines.
        let headerStart = i
        let headerLimit = headerStart + limits.maxHeaderBytes
        var headers = HTTPHeaders()
        swap(&headers, &fieldStorage)
        headers.reserveCapacity(12)
        var hostCount = 0
        var hostValue: Range<Int>?
        var contentLengthCount = 0
        var contentLength: Int?
        var transferEncodings: [Range<Int>] = []
        var connectionClose = false
        var connectionKeepAlive = false
        var expectsContinue = false
        var hostText = ""  // the Host field's value as made for `headers` (the host reuses it)
        while true {
            if i >= n {
                if n > headerLimit { throw fail(431, "header section too large") }
                return .incomplete
            }
            let first = p[i]
            if first == ByteClass.cr {
                guard i + 1 < n else { return .incomplete }
                guard p[i + 1] == ByteClass.lf else { throw fail(400, "bare CR") }
                i += 2
                break
            }
            guard let line = try FieldLine.scan(p, at: i, isFirst: headers.count == 0) else {
                if n > headerLimit { throw fail(431, "header section too large") }
                return .incomplete
            }
            if line.next > headerLimit { throw fail(431, "header section too large") }
            let name = line.name, value = line.value
            i = line.next
            if headers.count >= limits.maxHeaderCount { throw fail(431, "too many header fields") }

            switch name.count {
            case 4 where p.equalsLowercase(name, "host"):
                hostCount += 1
                hostValue = value
            case 6 where p.equalsLowercase(name, "expect"):
                expectsContinue = p.equalsLowercase(value, "100-continue")
            case 10 where p.equalsLowercase(name, "connection"):
                forEachListMember(p, value) { member in
                    if p.equalsLowercase(member, "close") { connectionClose = true }
                    else if p.equalsLowercase(member, "keep-alive") { connectionKeepAlive = true }
                }
            case 14 where p.equalsLowercase(name, "content-length"):
                contentLengthCount += 1
                if contentLengthCount > 1 { throw fail(400, "more than one Content-Length") }
                contentLength = try parseContentLength(p, value)
            case 17 where p.equalsLowercase(name, "transfer-encoding"):
                transferEncodings.append(value)
            default:
                break
            }
            let text = p.string(value)
            if hostValue == value { hostText = text }
            headers.add(line.knownName ?? p.string(name), text)
        }

        // Framing (RFC 9112 6.1-6.3).
        var framing = BodyFraming.none
        if !transferEncodings.isEmpty {
            if version == .http10 { throw fail(400, "Transfer-Encoding in an HTTP/1.0 request") }
            if contentLengthCount > 0 { throw fail(400, "both Transfer-Encoding and Content-Length") }
            try checkTransferCodings(p, transferEncodings)
            framing = .chunked
        } else if let length = contentLength, length > 0 {
            framing = .contentLength(length)
        }

        // Host (RFC 9112 3.2).
        if hostCount > 1 { throw fail(400, "more than one Host") }
        if hostCount == 0 && version == .http11 { throw fail(400, "missing Host") }
        var host: String?
        if let hostValue {
            guard let r = HostSyntax.hostRange(p, hostValue, allowEmpty: true, requirePort: false) else {
                throw fail(400, "invalid Host")
            }
            host = r.isEmpty ? nil : HostSyntax.string(p, r, made: (hostValue, hostText))
        }

        let targetText = p.string(target)
        let resolved = try RequestTarget.parse(p, target, text: targetText, method: method)
        if let authorityHost = resolved.host { host = authorityHost }

        let keepAlive = version == .http11 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        // Built in place with the memberwise initializer (see `HTTPRequest.version`):
        // a local `var` first, or the public initializer, cost a copy of every field.
        return .complete(HTTPRequest(
            version: version, method: methodString(p, method), target: targetText, path: resolved.path, query: resolved.query,
            headers: headers, framing: framing, keepAlive: keepAlive, host: host,
            pathHasBackslash: resolved.hasBackslash, expectsContinue: expectsContinue), consumed: i)
    }

    /// - Throws: 400 for anything but `HTTP/d.d`; 505 for a major version other than 1.
    private func parseVersion(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) throws -> HTTPVersion {
        guard r.count == 8, p.equalsCase(r.lowerBound..<r.lowerBound + 5, "HTTP/"),
              ByteClass.isDigit(p[r.lowerBound + 5]), p[r.lowerBound + 6] == UInt8(ascii: "."),
              ByteClass.isDigit(p[r.lowerBound + 7]) else {
            throw fail(400, "malformed HTTP version")
        }
        guard p[r.lowerBound + 5] == UInt8(ascii: "1") else { throw fail(505, "HTTP version not supported") }
        return p[r.lowerBound + 7] == UInt8(ascii: "0") ? .http10 : .http11
    }

    /// - Throws: 400 unless the value is 1 to 18 digits.
    private func parseContentLength(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) throws -> Int {
        guard !r.isEmpty, r.count <= 18 else { throw fail(400, "invalid Content-Length") }
        var v = 0
        for j in r {
            guard ByteClass.isDigit(p[j]) else { throw fail(400, "invalid Content-Length") }
            v = v * 10 + Int(p[j] &- 48)
        }
        return v
    }

    /// - Throws: 400 unless the last coding is a single `chunked`; 501 for other
    ///   codings (gzip...) before it, which this server does not decode.
    private func checkTransferCodings(_ p: UnsafeRawBufferPointer, _ values: [Range<Int>]) throws {
        var codings: [Range<Int>] = []
        var malformed = false
        for value in values {
            forEachListMember(p, value, keepEmpty: true) { member in
                if member.isEmpty { malformed = true; return }
                for j in member where !ByteClass.isToken(p[j]) { malformed = true; return }
                codings.append(member)
            }
        }
        if malformed || codings.isEmpty { throw fail(400, "malformed Transfer-Encoding") }
        guard p.equalsLowercase(codings[codings.count - 1], "chunked") else {
            throw fail(400, "Transfer-Encoding does not end with chunked")
        }
        for coding in codings.dropLast() {
            if p.equalsLowercase(coding, "chunked") { throw fail(400, "chunked applied more than once") }
        }
        if codings.count > 1 { throw fail(501, "unsupported transfer coding") }
    }

    /// Calls `body` with each comma-separated member of `p[r]`, OWS trimmed.
    /// Empty members are skipped unless `keepEmpty` (where they are an error).
    private func forEachListMember(_ p: UnsafeRawBufferPointer, _ r: Range<Int>, keepEmpty: Bool = false,
                                   _ body: (Range<Int>) -> Void) {
        var start = r.lowerBound
        while start <= r.upperBound {
            var end = start
            while end < r.upperBound, p[end] != UInt8(ascii: ",") { end += 1 }
            var a = start, b = end
            while a < b, p[a] == ByteClass.sp || p[a] == ByteClass.htab { a += 1 }
            while b > a, p[b - 1] == ByteClass.sp || p[b - 1] == ByteClass.htab { b -= 1 }
            if a < b || keepEmpty { body(a..<b) }
            start = end + 1
        }
    }

    /// The method as a String; the common ones are literals (no UTF-8 work).
    @inline(__always)
    private func methodString(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        if p.equalsCase(r, "GET") { return "GET" }
        if p.equalsCase(r, "HEAD") { return "HEAD" }
        if p.equalsCase(r, "POST") { return "POST" }
        return p.string(r)
    }
}
