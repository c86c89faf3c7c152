/// multipart/byteranges framing (RFC 9110 14.6) for a 206 with several ranges:
/// the body is `partHead(0) slice(0) partHead(1) slice(1) ... closing`.
public struct MultipartByteranges: Sendable {
    public let boundary: String

    /// `boundary` must be 1-70 characters of `[0-9A-Za-z]`; use `makeBoundary`.
    public init(boundary: String) { self.boundary = boundary }

    /// A random 24-hex-digit boundary.
    public static func makeBoundary<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let hi = generator.next() as UInt64, lo = generator.next() as UInt32
        let a = String(hi, radix: 16), b = String(lo, radix: 16)
        return String(repeating: "0", count: 16 - a.count) + a + String(repeating: "0", count: 8 - b.count) + b
    }

    /// The Content-Type of the whole response.
    public var contentType: String { "multipart/byteranges; boundary=" + boundary }

    /// The bytes before one part's slice (a delimiter and the part's fields).
    public func partHead(range: ClosedRange<Int>, totalLength: Int, contentType: String) -> [UInt8] {
        Array("\r\n--\(boundary)\r\nContent-Type: \(contentType)\r\nContent-Range: \(ByteRanges.contentRange(range, length: totalLength))\r\n\r\n".utf8)
    }

    /// The bytes after the last slice.
    public var closing: [UInt8] { Array("\r\n--\(boundary)--\r\n".utf8) }

    /// Every part head in order, and the body's total length (heads, slices, closing),
    /// which is the response's Content-Length.
    public func layout(ranges: [ClosedRange<Int>], totalLength: Int, contentType: String) -> (heads: [[UInt8]], bodyLength: Int) {
        let heads = ranges.map { partHead(range: $0, totalLength: totalLength, contentType: contentType) }
        let length = heads.reduce(0) { $0 + $1.count } + ranges.reduce(0) { $0 + $1.count } + closing.count
        return (heads, length)
    }
}
