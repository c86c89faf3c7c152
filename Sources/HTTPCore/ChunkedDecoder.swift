/// Limits for a chunked request body; each overrun is an error.
public struct ChunkedLimits: Sendable {
    /// Largest decoded body; over it: 413.
    public var maxBodyBytes: Int = 1 << 30
    /// Longest chunk-size line (size, extensions); over it: 400.
    public var maxSizeLineBytes: Int = 4096
    /// Largest trailer section; over it: 431.
    public var maxTrailerBytes: Int = 8192
    /// Most trailer fields; over it: 431.
    public var maxTrailerCount: Int = 32
    /// Largest single chunk; over it: 400. Requests are bounded by
    /// `maxBodyBytes` instead; a response body has no total bound, so its
    /// parser bounds each chunk's size here.
    public var maxChunkSize: Int = Int.max

    public init() {}
}

/// Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 7.1).
/// Feed it bytes as they arrive; it hands out data slices without copying and
/// stops right after the final CRLF, so pipelined bytes stay with the caller.
/// Strict like the head parser: CRLF only, hex sizes without sign or spaces
/// (whitespace only before a `;`, never trailing), chunk extensions checked against the grammar and
/// ignored, trailer lines checked like header lines and kept in `trailers`
/// (Content-Length, Transfer-Encoding, Host and Trailer are refused there).
public struct ChunkedDecoder: Sendable {
    public var limits: ChunkedLimits
    public private(set) var isComplete = false
    public private(set) var bodyBytes = 0
    public private(set) var trailers = HTTPHeaders()

    private enum State: Sendable {
        case size, sizeLine, data, dataCR, dataLF, trailer
    }
    private var state = State.size
    private var remaining = 0          // of the current chunk
    private var line: [UInt8] = []     // the size line or trailer section being collected

    public init(limits: ChunkedLimits = ChunkedLimits()) { self.limits = limits }

    /// Decodes as much of `input` as possible, calling `onData` with each data
    /// slice (valid only during the call). Returns how many bytes of `input`
    /// were consumed; fewer than `input.count` only once `isComplete`.
    /// - Throws: `HTTPParseError` 400 for bad framing (size, extension, missing
    ///   CRLF after data, bad trailer), 413 when the body passes
    ///   `maxBodyBytes`, 431 for too large a trailer section.
    public mutating func decode(_ input: UnsafeRawBufferPointer, onData: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var i = 0
        let n = input.count
        while i < n, !isComplete {
            switch state {
            case .size, .sizeLine:
                // Collect the size line up to and including its LF, then check it whole;
                // bytes that can never be valid are refused at once.
                let c = input[i]
                i += 1
                if line.isEmpty, ByteClass.hexValue(c) == nil { throw fail(400, "missing chunk size") }
                try checkLineByte(c)
                line.append(c)
                if line.count > limits.maxSizeLineBytes { throw fail(400, "chunk-size line too long") }
                if c == ByteClass.lf {
                    try finishSizeLine()
                } else {
                    state = .sizeLine
                }
            case .data:
                let take = min(remaining, n - i)
                try onData(UnsafeRawBufferPointer(rebasing: input[i..<i + take]))
                remaining -= take
                i += take
                if remaining == 0 { state = .dataCR }
            case .dataCR:
                guard input[i] == ByteClass.cr else { throw fail(400, "chunk data not followed by CRLF") }
                i += 1
                state = .dataLF
            case .dataLF:
                guard input[i] == ByteClass.lf else { throw fail(400, "chunk data not followed by CRLF") }
                i += 1
                state = .size
            case .trailer:
                let c = input[i]
                i += 1
                try checkLineByte(c)
                line.append(c)
                if line.count > limits.maxTrailerBytes + 2 { throw HTTPParseError(status: 431, reason: "trailer section too large") }
                if c == ByteClass.lf { try finishTrailerLine() }
            }
        }
        return i
    }

    private func fail(_ status: Int, _ reason: String) -> HTTPParseError { HTTPParseError(status: status, reason: reason) }

    /// - Throws: 400 for a CTL (other than HTAB, CR, LF) or a CR not followed by LF.
    @inline(__always)
    private func checkLineByte(_ c: UInt8) throws {
        if line.last == ByteClass.cr, c != ByteClass.lf { throw fail(400, "bare CR in chunked framing") }
        if !ByteClass.isFieldValueByte(c), c != ByteClass.cr, c != ByteClass.lf {
            throw fail(400, "control character in chunked framing")
        }
    }

    /// `1*HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) CRLF`, collected in `line`.
    private mutating func finishSizeLine() throws {
        let b = line
        let n = b.count
        guard n >= 3, b[n - 2] == ByteClass.cr else { throw fail(400, "bare LF in chunk-size line") }
        var i = 0
        var size = 0
        while i < n - 2, let h = ByteClass.hexValue(b[i]) {
            if size > (Int.max >> 4) { throw fail(400, "chunk size too large") }
            size = size << 4 | h
            i += 1
        }
        guard i > 0 else { throw fail(400, "missing chunk size") }
        if size > limits.maxChunkSize { throw fail(400, "chunk size too large") }
        // After the digits only BWS or ";" may follow: anything else is part of a bad size.
        if i < n - 2, b[i] != UInt8(ascii: ";"), b[i] != ByteClass.sp, b[i] != ByteClass.htab {
            throw fail(400, "invalid chunk size")
        }
        try Self.checkExtensions(b, from: i, to: n - 2)
        line.removeAll(keepingCapacity: true)
        if size > limits.maxBodyBytes - bodyBytes { throw fail(413, "chunked body too large") }
        bodyBytes += size
        if size == 0 {
            state = .trailer
        } else {
            remaining = size
            state = .data
        }
    }

    /// - Throws: 400 unless `b[from..<to]` is a valid (possibly empty) chunk-ext.
    static func checkExtensions(_ b: [UInt8], from: Int, to end: Int) throws {
        let bad = HTTPParseError(status: 400, reason: "invalid chunk extension")
        var i = from
        func bws() { while i < end, b[i] == ByteClass.sp || b[i] == ByteClass.htab { i += 1 } }
        func token() -> Bool {
            let s = i
            while i < end, ByteClass.isToken(b[i]) { i += 1 }
            return i > s
        }
        while true {
            let beforeSpace = i
            bws()
            if i == end {
                if i > beforeSpace { throw bad }  // BWS is allowed only before ";"
                return
            }
            guard b[i] == UInt8(ascii: ";") else { throw bad }
            i += 1
            bws()
            guard token() else { throw bad }
            let afterName = i
            bws()
            if i < end, b[i] == UInt8(ascii: "=") {
                i += 1
                bws()
                if i < end, b[i] == UInt8(ascii: "\"") {
                    i += 1
                    var closed = false
                    while i < end {
                        let c = b[i]
                        if c == UInt8(ascii: "\"") { closed = true; i += 1; break }
                        if c == UInt8(ascii: "\\") {
                            guard i + 1 < end, ByteClass.isFieldValueByte(b[i + 1]) else { throw bad }
                            i += 2
                            continue
                        }
                        guard ByteClass.isFieldValueByte(c) else { throw bad }
                        i += 1
                    }
                    guard closed else { throw bad }
                } else {
                    guard token() else { throw bad }
                }
            } else {
                i = afterName  // the whitespace must lead to another ";"
            }
        }
    }

    /// Called at each LF of the trailer section; `line` holds the whole section so far.
    private mutating func finishTrailerLine() throws {
        let n = line.count
        guard n >= 2, line[n - 2] == ByteClass.cr else { throw fail(400, "bare LF in trailer section") }
        // The last line is complete; parse every line once the empty line arrives.
        guard n == 2 || (n >= 4 && line[n - 4] == ByteClass.cr && line[n - 3] == ByteClass.lf) else { return }
        var fields = HTTPHeaders()
        try line.withUnsafeBytes { p in
            var i = 0
            while p[i] != ByteClass.cr {
                guard let f = try FieldLine.scan(p, at: i, isFirst: false) else { throw fail(400, "malformed trailer") }
                if fields.count >= limits.maxTrailerCount { throw fail(431, "too many trailer fields") }
                // Framing and routing fields may not hide in trailers (RFC 9110 6.5.1).
                if p.equalsLowercase(f.name, "content-length") || p.equalsLowercase(f.name, "transfer-encoding")
                    || p.equalsLowercase(f.name, "host") || p.equalsLowercase(f.name, "trailer") {
                    throw fail(400, "framing field in trailer section")
                }
                fields.add(p.string(f.name), p.string(f.value))
                i = f.next
            }
        }
        trailers = fields
        line = []
        isComplete = true
    }
}
