/// Serialises a response head: status line, fields, blank line.
public enum ResponseHead {
    /// `HTTP/1.1 <status> <reason>\r\n`, each field as `Name: value\r\n`, then `\r\n`
    /// unless `terminate` is false (the caller appends more lines first).
    /// - Throws: `HTTPParseError` (500) when a name is not a token or a value holds
    ///   CR, LF or NUL, so a header built from request data cannot split the response.
    public static func serialize(status: Int, headers: HTTPHeaders, version: HTTPVersion = .http11,
                                 terminate: Bool = true) throws -> [UInt8] {
        var out = HTTPStatus.statusLine(status, version: version)
        out.reserveCapacity(out.count + headers.count * 40 + 2)
        for (name, value) in headers {
            try append(name: name, value: value, to: &out)
        }
        if terminate {
            out.append(ByteClass.cr)
            out.append(ByteClass.lf)
        }
        return out
    }

    /// Appends one `Name: value\r\n` line.
    /// - Throws: `HTTPParseError` (500) for an invalid name or a CR/LF/NUL in the value.
    public static func append(name: String, value: String, to out: inout [UInt8]) throws {
        guard !name.isEmpty, name.utf8.allSatisfy(ByteClass.isToken) else {
            throw HTTPParseError(status: 500, reason: "invalid response field name \(name.debugDescription)")
        }
        guard !value.utf8.contains(where: { $0 == ByteClass.cr || $0 == ByteClass.lf || $0 == 0 }) else {
            throw HTTPParseError(status: 500, reason: "CR, LF or NUL in response field \(name)")
        }
        out.append(contentsOf: name.utf8)
        out.append(UInt8(ascii: ":"))
        out.append(ByteClass.sp)
        out.append(contentsOf: value.utf8)
        out.append(ByteClass.cr)
        out.append(ByteClass.lf)
    }
}
