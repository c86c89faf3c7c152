import CapuchinSystem

/// Reads a request trace from a file descriptor in large chunks: one `KEY` or
/// `KEY,SIZE` per line (the size after the last comma), blank lines and `#`
/// comments skipped, surrounding blanks and a CR ignored. The first request
/// line fixes the form; a first line whose size is not a number is a header.
/// Zero-size requests are skipped, as libCacheSim does. Keys become dense ids.
struct TraceReader {
    static let chunkSize = 1 << 20
    private let fd: FileDescriptor
    private var interner = KeyInterner()
    private(set) var sized: Bool?
    private(set) var line = 0

    init(fd: FileDescriptor) {
        self.fd = fd
    }

    /// Calls `body(id, size)` for every request in order.
    /// Throws `SimulatorError.malformedLine` naming the first bad line (a line
    /// longer than a chunk included) and `.readFailed` when read(2) fails.
    mutating func forEachRequest(_ body: (UInt64, Int) -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: TraceReader.chunkSize)
        var filled = 0
        var eof = false
        while !eof {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in
                    try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            } catch let e as SystemError {
                throw SimulatorError.readFailed(errno: e.code.rawValue)
            }
            if n == 0 { eof = true }
            filled += n
            let consumed = try buffer.withUnsafeBufferPointer { buf -> Int in
                var start = 0
                var i = 0
                while i < filled {
                    if buf[i] == 0x0A {
                        try parse(UnsafeBufferPointer(rebasing: buf[start..<i]), body)
                        start = i + 1
                    }
                    i += 1
                }
                if eof && start < filled {
                    try parse(UnsafeBufferPointer(rebasing: buf[start..<filled]), body)
                    start = filled
                }
                return start
            }
            if consumed == 0 && filled == buffer.count {
                throw SimulatorError.malformedLine(line: line + 1, reason: "longer than \(TraceReader.chunkSize) bytes")
            }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + consumed, byteCount: filled - consumed)
                }
                filled -= consumed
            }
        }
    }

    private static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }

    private static func trim(_ s: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var a = 0, b = s.count
        while a < b && isBlank(s[a]) { a += 1 }
        while b > a && isBlank(s[b - 1]) { b -= 1 }
        return UnsafeBufferPointer(rebasing: s[a..<b])
    }

    private mutating func parse(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UInt64, Int) -> Void) throws {
        line += 1
        let text = TraceReader.trim(raw)
        guard !text.isEmpty, text[0] != 0x23 else { return }
        var comma = text.count - 1
        while comma >= 0 && text[comma] != 0x2C { comma -= 1 }
        let hasSize = comma >= 0
        let first = sized == nil
        if first { sized = hasSize }
        guard hasSize == sized else {
            throw SimulatorError.malformedLine(
                line: line, reason: sized! ? "expected KEY,SIZE like the first line" : "expected KEY alone like the first line (no comma)")
        }
        var keyPart = text
        var size = 1
        if hasSize {
            keyPart = TraceReader.trim(UnsafeBufferPointer(rebasing: text[0..<comma]))
            let digits = TraceReader.trim(UnsafeBufferPointer(rebasing: text[(comma + 1)...]))
            guard let s = TraceReader.parseSize(digits) else {
                if first {
                    sized = nil  // a header such as "key,size"
                    return
                }
                throw SimulatorError.malformedLine(
                    line: line, reason: "size \"\(String(decoding: digits, as: UTF8.self))\" is not a non-negative integer")
            }
            size = s
        }
        guard !keyPart.isEmpty else {
            throw SimulatorError.malformedLine(line: line, reason: "empty key")
        }
        if size == 0 { return }
        body(interner.id(of: keyPart), size)
    }

    /// Decimal digits only, at most 18 of them (no overflow).
    private static func parseSize(_ s: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !s.isEmpty, s.count <= 18 else { return nil }
        var v = 0
        for c in s {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }
}
