/// The field names clients send on nearly every request, as literals: a
/// literal String costs nothing to make and nothing to retain, while making one
/// from the request's bytes costs about 170 instructions (UTF-8 validation and
/// the string's construction), several times a request. A literal keeps the
/// case it was sent with (a field keeps its name as sent).
enum FieldName {
    /// The known name a field line at `start` begins with, colon included,
    /// and its length (without the colon); nil otherwise. Matched a word at a
    /// time before the line's name is scanned byte by byte: a known name is a
    /// token, so the scan need not look at it byte by byte.
    @inline(__always)
    static func line(_ p: UnsafeRawBufferPointer, at start: Int) -> (name: String, count: Int)? {
        @inline(__always) func at(_ literal: StaticString) -> Bool {
            p.equalsCase(start..<start + literal.utf8CodeUnitCount, literal)
        }
        switch p[start] {
        case UInt8(ascii: "H"): if at("Host:") { return ("Host", 4) }
        case UInt8(ascii: "h"): if at("host:") { return ("host", 4) }
        case UInt8(ascii: "A"):
            if at("Accept:") { return ("Accept", 6) }
            if at("Accept-Encoding:") { return ("Accept-Encoding", 15) }
            if at("Accept-Language:") { return ("Accept-Language", 15) }
        case UInt8(ascii: "a"):
            if at("accept:") { return ("accept", 6) }
            if at("accept-encoding:") { return ("accept-encoding", 15) }
        case UInt8(ascii: "U"):
            if at("User-Agent:") { return ("User-Agent", 10) }
            if at("Upgrade-Insecure-Requests:") { return ("Upgrade-Insecure-Requests", 25) }
        case UInt8(ascii: "u"): if at("user-agent:") { return ("user-agent", 10) }
        case UInt8(ascii: "C"):
            if at("Connection:") { return ("Connection", 10) }
            if at("Cookie:") { return ("Cookie", 6) }
            if at("Cache-Control:") { return ("Cache-Control", 13) }
            if at("Content-Length:") { return ("Content-Length", 14) }
            if at("Content-Type:") { return ("Content-Type", 12) }
        case UInt8(ascii: "c"): if at("connection:") { return ("connection", 10) }
        case UInt8(ascii: "R"):
            if at("Referer:") { return ("Referer", 7) }
            if at("Range:") { return ("Range", 5) }
        case UInt8(ascii: "I"):
            if at("If-None-Match:") { return ("If-None-Match", 13) }
            if at("If-Modified-Since:") { return ("If-Modified-Since", 17) }
        case UInt8(ascii: "O"): if at("Origin:") { return ("Origin", 6) }
        case UInt8(ascii: "S"):
            if at("Sec-Fetch-Dest:") { return ("Sec-Fetch-Dest", 14) }
            if at("Sec-Fetch-Mode:") { return ("Sec-Fetch-Mode", 14) }
            if at("Sec-Fetch-Site:") { return ("Sec-Fetch-Site", 14) }
            if at("Sec-Fetch-User:") { return ("Sec-Fetch-User", 14) }
        default: break
        }
        return nil
    }
}
