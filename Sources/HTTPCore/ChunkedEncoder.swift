/// Chunked transfer coding (RFC 9112 7.1) for bodies we send: no extensions, no
/// trailers. `ChunkedDecoder` is its inverse.
public enum ChunkedEncoder {
    /// One chunk carrying `bytes`; empty input gives no bytes (an empty chunk
    /// would end the body).
    public static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out += [13, 10]
        out += bytes
        out += [13, 10]
        return out
    }

    /// The last chunk and the empty trailer section.
    public static let end: [UInt8] = Array("0\r\n\r\n".utf8)
}
