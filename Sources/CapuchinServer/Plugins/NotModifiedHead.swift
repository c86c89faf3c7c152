import HTTPCore

/// The header lines of a 304 made from a 200's prebuilt lines (a cached
/// file's head): the same lines less those that describe the body's bytes
/// (Content-Type, Accept-Ranges, Content-Length), so a browser's revalidation
/// of a cached file is answered from the head it already has. The 304 the
/// handler builds otherwise carries the same fields (validators,
/// Content-Encoding and Vary, the cache's marks: RFC 9110 15.4.5).
enum NotModifiedHead {
    static func lines(from head: [UInt8]) -> [UInt8] {
        head.withUnsafeBufferPointer { h in
            var out = [UInt8]()
            out.reserveCapacity(h.count)
            var start = 0
            while start < h.count {
                var end = start
                while end < h.count, h[end] != 10 { end += 1 }
                end = min(end + 1, h.count)  // past the LF of its CRLF
                let line = UnsafeBufferPointer(rebasing: h[start..<end])
                if !describesBody(line) { out.append(contentsOf: line) }
                start = end
            }
            return out
        }
    }

    /// Whether `line` is one of the fields a 304 leaves out.
    private static func describesBody(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = line.first, first | 0x20 == UInt8(ascii: "c") || first | 0x20 == UInt8(ascii: "a"),
              let colon = line.firstIndex(of: UInt8(ascii: ":")), colon >= 12, colon <= 14 else { return false }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[..<colon]), as: UTF8.self)  // small: not allocated
        return name.caseInsensitiveEquals("Content-Type") || name.caseInsensitiveEquals("Accept-Ranges")
            || name.caseInsensitiveEquals("Content-Length")
    }
}
