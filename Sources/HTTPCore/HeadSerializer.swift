/// Writes HTTP/1.1 heads: a start line, `Name: value\r\n` per field, a blank
/// line. The one serializer for the server's responses and the proxy's
/// upstream requests and cached heads.
///
/// Two kinds of field writer: `appendField` copies bytes and checks nothing,
/// for fields that came through a parser or are our own literals (the hot
/// paths); `appendCheckedField` refuses a name that is not a token and a value
/// holding CR, LF or NUL, for fields built from anything else, so that data
/// cannot split a head.
public enum HeadSerializer {
    @usableFromInline static let colonSpace: (UInt8, UInt8) = (58, 32)

    /// `startLine`, CRLF, every field of `headers`, CRLF.
    public static func serialize(startLine: String, headers: HTTPHeaders) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(startLine.utf8.count + 4 + headers.fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
        out.append(contentsOf: startLine.utf8)
        out.append(ByteClass.cr)
        out.append(ByteClass.lf)
        appendFields(headers, to: &out)
        out.append(ByteClass.cr)
        out.append(ByteClass.lf)
        return out
    }

    /// A response head: `HTTP/1.x <status> <reason>\r\n`, the fields checked as
    /// `appendCheckedField` does, then `\r\n` unless `terminate` is false (the
    /// caller appends more lines first).
    /// - Throws: `HTTPParseError` (500) for an invalid name or a CR/LF/NUL in a value.
    public static func response(status: Int, headers: HTTPHeaders, version: HTTPVersion = .http11,
                                terminate: Bool = true) throws -> [UInt8] {
        var out = HTTPStatus.statusLine(status, version: version)
        out.reserveCapacity(out.count + headers.count * 40 + 2)
        for field in headers {
            try appendCheckedField(name: field.name, value: field.value, to: &out)
        }
        if terminate {
            out.append(ByteClass.cr)
            out.append(ByteClass.lf)
        }
        return out
    }

    /// "Name: value\r\n" for each field, unchecked.
    public static func appendFields(_ headers: HTTPHeaders, to out: inout [UInt8]) {
        for field in headers.fields {
            appendField(name: field.name, value: field.value, to: &out)
        }
    }

    /// One `Name: value\r\n` line, unchecked (see the type's comment).
    @inlinable @inline(__always)
    public static func appendField(name: String, value: String, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(colonSpace.0)
        out.append(colonSpace.1)
        out.append(contentsOf: value.utf8)
        out.append(ByteClass.cr)
        out.append(ByteClass.lf)
    }

    /// One `Name: value\r\n` line after checking it.
    /// - Throws: `HTTPParseError` (500) for an invalid name or a CR/LF/NUL in the value.
    public static func appendCheckedField(name: String, value: String, to out: inout [UInt8]) throws {
        guard FieldSyntax.isToken(name) else {
            throw HTTPParseError(status: 500, reason: "invalid response field name \(name.debugDescription)")
        }
        guard !value.utf8.contains(where: { $0 == ByteClass.cr || $0 == ByteClass.lf || $0 == 0 }) else {
            throw HTTPParseError(status: 500, reason: "CR, LF or NUL in response field \(name)")
        }
        appendField(name: name, value: value, to: &out)
    }
}
