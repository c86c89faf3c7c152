import HTTPCore

/// Serializes a response head into a byte buffer: status line, Date, Server,
/// the handler's headers, preformatted lines, Content-Length and Connection.
enum ResponseHeadWriter {
    private static let statusLines: [[UInt8]] = (0..<600).map { code in
        Array("HTTP/1.1 \(code) \(HTTPStatus.reasonPhrase(code))\r\n".utf8)
    }
    private static let serverLine = Array("Server: capuchin\r\n".utf8)
    private static let closeLine = Array("Connection: close\r\n".utf8)
    private static let keepAliveLine = Array("Connection: keep-alive\r\n".utf8)
    private static let contentLengthPrefix = Array("Content-Length: ".utf8)
    private static let crlf: [UInt8] = [13, 10]

    /// Whether a response with this status carries no body and no Content-Length.
    @inline(__always)
    static func statusForbidsBody(_ status: Int) -> Bool {
        status < 200 || status == 204 || status == 304
    }

    /// Appends the head; `keepAlive` false adds `Connection: close`; an HTTP/1.0
    /// keep-alive adds `Connection: keep-alive`.
    /// `omitLength`: a streamed body whose framing the headers give (no Content-Length from `body`).
    static func write(_ r: Response, into buf: inout [UInt8], dateLine: [UInt8], keepAlive: Bool, http10: Bool, omitLength: Bool = false) {
        let status = (100..<600).contains(r.status) ? r.status : 500
        buf.append(contentsOf: statusLines[status])
        if !r.carriesDate { buf.append(contentsOf: dateLine) }
        buf.append(contentsOf: serverLine)
        var hasLength = false
        for f in r.headers.fields {
            if f.name.utf8.count == 14 && f.name.caseInsensitiveEquals("Content-Length") { hasLength = true }
            if f.name.utf8.count == 10 && f.name.caseInsensitiveEquals("Connection") { continue }
            buf.append(contentsOf: f.name.utf8)
            buf.append(58); buf.append(32)
            buf.append(contentsOf: f.value.utf8)
            buf.append(contentsOf: crlf)
        }
        if let pre = r.preformattedHeaders { buf.append(contentsOf: pre) }
        if !hasLength && !omitLength && !statusForbidsBody(status) {
            buf.append(contentsOf: contentLengthPrefix)
            appendDecimal(r.body.count, to: &buf)
            buf.append(contentsOf: crlf)
        }
        if !keepAlive { buf.append(contentsOf: closeLine) } else if http10 { buf.append(contentsOf: keepAliveLine) }
        buf.append(contentsOf: crlf)
    }

    @inline(__always)
    static func appendDecimal(_ value: Int, to buf: inout [UInt8]) {
        if value == 0 { buf.append(48); return }
        var v = value
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            while v > 0 { t[19 - n] = UInt8(48 + v % 10); v /= 10; n += 1 }
            buf.append(contentsOf: t[(20 - n)...])
        }
    }
}
