/// The field names clients send on nearly every request, as literals: a
/// literal String costs nothing to make and nothing to retain, while making one
/// from the request's bytes costs about 170 instructions (UTF-8 validation and
/// the string's construction), several times a request.
enum FieldName {
    /// The literal spelled exactly as `p[r]` (case included: a field keeps the
    /// case it was sent with), or nil for a name not in the table.
    @inline(__always)
    static func known(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) -> String? {
        switch r.count {
        case 4:
            if p.equalsCase(r, "Host") { return "Host" }
            if p.equalsCase(r, "host") { return "host" }
        case 5:
            if p.equalsCase(r, "Range") { return "Range" }
        case 6:
            if p.equalsCase(r, "Accept") { return "Accept" }
            if p.equalsCase(r, "Cookie") { return "Cookie" }
            if p.equalsCase(r, "Origin") { return "Origin" }
            if p.equalsCase(r, "accept") { return "accept" }
        case 7:
            if p.equalsCase(r, "Referer") { return "Referer" }
        case 10:
            if p.equalsCase(r, "User-Agent") { return "User-Agent" }
            if p.equalsCase(r, "Connection") { return "Connection" }
            if p.equalsCase(r, "user-agent") { return "user-agent" }
            if p.equalsCase(r, "connection") { return "connection" }
        case 13:
            if p.equalsCase(r, "If-None-Match") { return "If-None-Match" }
            if p.equalsCase(r, "Cache-Control") { return "Cache-Control" }
        case 14:
            if p.equalsCase(r, "Content-Length") { return "Content-Length" }
        case 15:
            if p.equalsCase(r, "Accept-Encoding") { return "Accept-Encoding" }
            if p.equalsCase(r, "Accept-Language") { return "Accept-Language" }
            if p.equalsCase(r, "accept-encoding") { return "accept-encoding" }
        case 17:
            if p.equalsCase(r, "If-Modified-Since") { return "If-Modified-Since" }
        default:
            break
        }
        return nil
    }
}
