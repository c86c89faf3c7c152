import Glibc

/// The header lines of a cache hit, serialized once per entry so a hit only
/// hands the bytes over. Built from the entry's metadata, never from the mapping.
enum EntryHeaders {
    /// "Content-Type", "ETag", "Last-Modified", "Accept-Ranges" (and
    /// "X-Cache: HIT" when `xCache`). Content-Length is left to the server,
    /// which derives it from the body (or from `headers` for HEAD).
    /// Nil when a value holds CR, LF or NUL (a damaged record must not inject headers).
    static func build(contentType: String, etag: String, mtimeNanos: Int64, xCache: Bool) -> [UInt8]? {
        for v in [contentType, etag] where v.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(160)
        func line(_ name: String, _ value: String) {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(13); out.append(10)
        }
        line("Content-Type", contentType)
        if !etag.isEmpty { line("ETag", etag) }
        line("Last-Modified", httpDate(seconds: Int(mtimeNanos / 1_000_000_000)))
        line("Accept-Ranges", "bytes")
        if xCache { line("X-Cache", "HIT") }
        return out
    }

    /// IMF-fixdate (RFC 9110 section 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
    static func httpDate(seconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
