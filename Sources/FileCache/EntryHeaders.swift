import CapuchinServer
import HTTPCore

/// The header lines of a cache hit, built from the entry's metadata (never
/// from the mapping) into one exactly sized array: a hit builds its head each
/// time (a prebuilt copy cost ~200 bytes an entry), so this is a handful of
/// byte copies, not appends.
enum EntryHeaders {
    /// "Content-Type", "ETag", "Last-Modified", "Accept-Ranges" (and
    /// "X-Cache: HIT" and "Cache-Status: capuchin; hit" when `xCache`). Content-Length is left to the server,
    /// which derives it from the body (or from `headers` for HEAD).
    /// The values are not scanned again: callers checked them with `isSafe`
    /// (when the entry was admitted or loaded; a damaged record must not inject headers).
    /// `contentEncoding` adds its `Content-Encoding` line, `varies` the line
    /// `Vary: Accept-Encoding` (every response of a compressible file has it).
    static func lines(contentType: String, etag: String, mtimeNanos: Int64, xCache: Bool,
                      contentEncoding: String? = nil, varies: Bool = false) -> [UInt8] {
        var n = 14 + contentType.utf8.count + 2 + 15 + HTTPDate.length + 2 + 22
        if !etag.isEmpty { n += 6 + etag.utf8.count + 2 }
        if xCache { n += markLines.count }
        if let contentEncoding { n += 18 + contentEncoding.utf8.count + 2 }
        if varies { n += 23 }
        return [UInt8](unsafeUninitializedCapacity: n) { buffer, count in
            var w = Writer(at: buffer.baseAddress!)
            w.line("Content-Type: ", contentType)
            if !etag.isEmpty { w.line("ETag: ", etag) }
            w.put("Last-Modified: ")
            HTTPDate.write(epochSeconds: Int(mtimeNanos / 1_000_000_000), to: w.p)
            w.p += HTTPDate.length
            w.put("\r\nAccept-Ranges: bytes\r\n")
            if xCache { markLines.withUnsafeBufferPointer { w.put($0) } }
            if let contentEncoding { w.line("Content-Encoding: ", contentEncoding) }
            if varies { w.put("Vary: Accept-Encoding\r\n") }
            count = w.p - buffer.baseAddress!
            precondition(count == n, "head size miscounted")
        }
    }

    /// "X-Cache: HIT" and "Cache-Status: capuchin; hit".
    private static let markLines = Array("X-Cache: HIT\r\n\(CacheStatus.fieldName): \(CacheStatus.hit)\r\n".utf8)

    /// Copies into memory sized beforehand.
    private struct Writer {
        var p: UnsafeMutablePointer<UInt8>

        init(at p: UnsafeMutablePointer<UInt8>) { self.p = p }

        @inline(__always)
        mutating func put(_ s: StaticString) {
            p.update(from: s.utf8Start, count: s.utf8CodeUnitCount)
            p += s.utf8CodeUnitCount
        }

        @inline(__always)
        mutating func put(_ b: UnsafeBufferPointer<UInt8>) {
            if let base = b.baseAddress { p.update(from: base, count: b.count) }
            p += b.count
        }

        /// `name` (with its colon and space), `value`, CRLF.
        @inline(__always)
        mutating func line(_ name: StaticString, _ value: String) {
            put(name)
            if value.utf8.withContiguousStorageIfAvailable({ put($0) }) == nil {
                for b in value.utf8 { p.pointee = b; p += 1 }
            }
            put("\r\n")
        }
    }

    /// Whether `value` may go into a header line (no CR, LF or NUL).
    static func isSafe(_ value: String) -> Bool {
        // Over the contiguous bytes: the UTF8View's iterator cost 3% of a million-entry load.
        var value = value
        return value.withUTF8 { b in !b.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
    }
}
