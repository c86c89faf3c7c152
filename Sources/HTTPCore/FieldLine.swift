/// One field line (RFC 9112 5): `name ":" OWS value OWS CRLF`, shared by the
/// request head and chunked trailers so both refuse the same things.
struct FieldLine {
    var name: Range<Int>
    var value: Range<Int>
    /// Index just past the line's CRLF.
    var next: Int
    /// The name as a literal when it is a known one (`FieldName.line`): nothing to make.
    var knownName: String?

    /// Scans the field line starting at `i` (which is not the CR of the empty line).
    /// Returns nil when the line is not complete within `p`.
    /// - Throws: `HTTPParseError` 400 for a line starting with whitespace
    ///   (obs-fold), an empty or invalid name, whitespace before the colon,
    ///   a missing colon, a CTL (NUL...) in the value, a bare CR or bare LF.
    @inline(__always)
    static func scan(_ p: UnsafeRawBufferPointer, at start: Int, isFirst: Bool) throws -> FieldLine? {
        let n = p.count
        var i = start
        let first = p[i]
        if first == ByteClass.lf { throw HTTPParseError(status: 400, reason: "bare LF line ending") }
        if first == ByteClass.sp || first == ByteClass.htab {
            throw HTTPParseError(status: 400, reason: isFirst ? "whitespace before the first field" : "obsolete line folding")
        }
        let known = FieldName.line(p, at: start)
        if let known {
            i = start + known.count  // at the colon
        } else {
            while i < n, ByteClass.isToken(p[i]) { i += 1 }
        }
        if i == n { return nil }
        let sep = p[i]
        if sep != UInt8(ascii: ":") {
            if sep == ByteClass.sp || sep == ByteClass.htab { throw HTTPParseError(status: 400, reason: "invalid header field name: whitespace before the colon") }
            if sep == ByteClass.cr || sep == ByteClass.lf { throw HTTPParseError(status: 400, reason: "field line without a colon") }
            throw HTTPParseError(status: 400, reason: "invalid header field name: invalid character")
        }
        guard i > start else { throw HTTPParseError(status: 400, reason: "empty field name") }
        let name = start..<i
        i += 1
        while i < n, p[i] == ByteClass.sp || p[i] == ByteClass.htab { i += 1 }
        let valueStart = i
        i = ByteClass.skipPlain(p, from: i, targetBytes: false)
        while i < n, p[i] != ByteClass.cr {
            guard ByteClass.isFieldValueByte(p[i]) else {
                throw HTTPParseError(status: 400, reason: p[i] == ByteClass.lf ? "bare LF line ending" : "control character in field value")
            }
            i += 1
        }
        if i + 1 >= n { return nil }
        guard p[i + 1] == ByteClass.lf else { throw HTTPParseError(status: 400, reason: "bare CR") }
        var valueEnd = i
        while valueEnd > valueStart, p[valueEnd - 1] == ByteClass.sp || p[valueEnd - 1] == ByteClass.htab { valueEnd -= 1 }
        return FieldLine(name: name, value: valueStart..<valueEnd, next: i + 2, knownName: known?.name)
    }
}
