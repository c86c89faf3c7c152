import HTTPCore

/// The `Date:` header line ("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") held
/// inline: a trivial value, so handing it to the head writer retains nothing
/// (an array did, and released it again, on every response).
struct DateLine {
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    private(set) var count = 0

    /// No line: a response written with it carries no `Date` (tests' heads).
    init() {}

    init(epochSeconds: Int) {
        let line = Array("Date: \(HTTPDate.format(epochSeconds: epochSeconds))\r\n".utf8)
        // An IMF-fixdate line is 37 bytes; the 48 held leave room and never truncate one.
        count = min(line.count, MemoryLayout.size(ofValue: storage))
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: line[..<count]) }
    }

    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeBytes(of: storage) { body(UnsafeBufferPointer(start: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count)) }
    }
}
