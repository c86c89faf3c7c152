import HTTPCore

/// Incremental, strict HTTP/1.1 response parser for backend connections. Feed
/// bytes as they arrive; it returns the events they complete. Field syntax is
/// as strict as the request side: CRLF only, no obs-fold, token names, no
/// whitespace before the colon, no control characters in values; conflicting
/// or ambiguous framing is an error (RFC 9112 6.3) so nothing is smuggled.
public struct ResponseParser {
    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkLine
        case chunkData(remaining: Int)
        /// Expecting the CRLF after chunk data; `matched` bytes of it seen.
        case chunkDataEnd(matched: Int)
        case trailers
        case untilClose
        case done
    }

    public let requestMethod: String
    public let limits: ResponseParserLimits
    private var state: State = .head
    private var buffer: [UInt8] = []
    private var interimCount = 0
    /// The final head, once parsed.
    public private(set) var head: BackendResponseHead?
    /// Bytes arrived after the response ended: the connection must not be reused.
    public private(set) var sawExcessData = false

    public init(requestMethod: String, limits: ResponseParserLimits = ResponseParserLimits()) {
        self.requestMethod = requestMethod
        self.limits = limits
    }

    /// Whether the whole response has been parsed.
    public var isComplete: Bool { if case .done = state { return true } else { return false } }

    /// Parses `bytes`. Throws `ResponseParseError` when the response is
    /// malformed, over a limit, or framed ambiguously.
    public mutating func feed(_ bytes: [UInt8]) throws -> [ResponseEvent] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Parses `input`. Throws `ResponseParseError` (see `feed(_: [UInt8])`).
    public mutating func feed(_ input: UnsafeRawBufferPointer) throws -> [ResponseEvent] {
        var events: [ResponseEvent] = []
        var i = 0
        let n = input.count
        while i < n {
            switch state {
            case .head:
                i += try consumeHead(input, from: i, events: &events)
            case .fixed(let remaining):
                let take = min(remaining, n - i)
                events.append(.body(Array(input[i..<(i + take)])))
                i += take
                if take == remaining { finish(&events) } else { state = .fixed(remaining: remaining - take) }
            case .untilClose:
                events.append(.body(Array(input[i..<n])))
                i = n
            case .chunkData(let remaining):
                let take = min(remaining, n - i)
                events.append(.body(Array(input[i..<(i + take)])))
                i += take
                state = take == remaining ? .chunkDataEnd(matched: 0) : .chunkData(remaining: remaining - take)
            case .chunkDataEnd(let matched):
                let expected: UInt8 = matched == 0 ? 13 : 10
                guard input[i] == expected else { throw ResponseParseError("chunk data not followed by CRLF") }
                i += 1
                state = matched == 0 ? .chunkDataEnd(matched: 1) : .chunkLine
            case .chunkLine:
                let c = input[i]
                i += 1
                buffer.append(c)
                if c == 10 { try chunkLineDone(&events) } else if buffer.count > limits.maxChunkLine {
                    throw ResponseParseError("chunk size line longer than \(limits.maxChunkLine) bytes")
                }
            case .trailers:
                buffer.append(input[i])
                i += 1
                if buffer.count > limits.maxTrailerBytes { throw ResponseParseError("trailer section too large") }
                if buffer.last == 10, buffer.count == 2 || buffer.suffix(4).elementsEqual([13, 10, 13, 10]) {
                    let lines = try Self.splitLines(buffer[...])
                    let trailers = try parseFields(lines.dropLast())
                    buffer = []
                    state = .done
                    events.append(.end(trailers: trailers))
                }
            case .done:
                sawExcessData = true
                head?.keepAlive = false
                return events
            }
        }
        return events
    }

    /// The backend closed the connection. Returns the final `.end` for a
    /// close-delimited body. Throws `ResponseParseError` when the response was
    /// cut short (head, a length or a chunked body incomplete).
    public mutating func finishAtEOF() throws -> [ResponseEvent] {
        switch state {
        case .done: return []
        case .untilClose:
            state = .done
            return [.end(trailers: HTTPHeaders())]
        case .head:
            throw ResponseParseError(buffer.isEmpty && head == nil ? "connection closed before any response" : "connection closed inside the response head")
        default:
            throw ResponseParseError("connection closed before the body was complete")
        }
    }

    // MARK: head

    private mutating func consumeHead(_ input: UnsafeRawBufferPointer, from i: Int, events: inout [ResponseEvent]) throws -> Int {
        let start = buffer.count
        let take = min(input.count - i, limits.maxHeadBytes + 4 - start)
        buffer.append(contentsOf: input[i..<(i + take)])
        var end = -1
        var j = start
        while j < buffer.count {
            if buffer[j] == 10 {
                guard j > 0, buffer[j - 1] == 13 else { throw ResponseParseError("bare LF line ending") }
                if j >= 3, buffer[j - 2] == 10, buffer[j - 3] == 13 { end = j + 1; break }
            }
            j += 1
        }
        guard end >= 0 else {
            if buffer.count > limits.maxHeadBytes { throw ResponseParseError("response head larger than \(limits.maxHeadBytes) bytes") }
            return take
        }
        let consumed = end - start
        let headBytes = buffer[0..<end]
        let parsed = try parseHead(headBytes)
        buffer = []
        if parsed.status >= 100 && parsed.status < 200 {
            interimCount += 1
            if interimCount > limits.maxInterimResponses { throw ResponseParseError("too many interim (1xx) responses") }
            events.append(.informational(parsed))
            return consumed
        }
        head = parsed
        events.append(.head(parsed))
        switch parsed.framing {
        case .noBody: finish(&events)
        case .contentLength(0): finish(&events)
        case .contentLength(let length): state = .fixed(remaining: length)
        case .chunked: state = .chunkLine
        case .untilClose: state = .untilClose
        }
        return consumed
    }

    private mutating func finish(_ events: inout [ResponseEvent]) {
        state = .done
        events.append(.end(trailers: HTTPHeaders()))
    }

    /// Lines of a head (without their CRLF); the last, empty line included.
    private static func splitLines(_ bytes: ArraySlice<UInt8>) throws -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = bytes.startIndex
        var k = bytes.startIndex
        while k < bytes.endIndex {
            let c = bytes[k]
            if c == 10 {
                guard k > lineStart, bytes[k - 1] == 13 else { throw ResponseParseError("bare LF line ending") }
                lines.append(bytes[lineStart..<(k - 1)])
                lineStart = k + 1
            } else if c == 13 {
                guard k + 1 < bytes.endIndex, bytes[k + 1] == 10 else { throw ResponseParseError("bare CR") }
            }
            k += 1
        }
        return lines
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) throws -> BackendResponseHead {
        let lines = try Self.splitLines(bytes)
        // lines.last is the empty line ending the head.
        guard lines.count >= 2, let statusLine = lines.first, !statusLine.isEmpty else {
            throw ResponseParseError("missing status line")
        }
        let (version, status, reason) = try Self.parseStatusLine(statusLine)
        let headers = try parseFields(lines.dropFirst().dropLast())
        if status == 101 { throw ResponseParseError("101 Switching Protocols was not requested") }
        let framing = try framing(status: status, version: version, headers: headers)
        let tokens = Set(FieldSyntax.listElements(headers.values("Connection")).map { FieldSyntax.lowercased($0) })
        let persistent = version == .http11 ? !tokens.contains("close") : tokens.contains("keep-alive")
        return BackendResponseHead(version: version, status: status, reason: reason, headers: headers, framing: framing,
                            keepAlive: persistent && framing != .untilClose)
    }

    private static func parseStatusLine(_ line: ArraySlice<UInt8>) throws -> (HTTPVersion, Int, String) {
        let b = Array(line)
        guard b.count >= 12, b[0..<5].elementsEqual("HTTP/".utf8), b[6] == UInt8(ascii: "."), b[8] == 32 else {
            throw ResponseParseError("malformed status line")
        }
        let version: HTTPVersion
        switch (b[5], b[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): version = .http11
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): version = .http10
        default: throw ResponseParseError("unsupported HTTP version in status line")
        }
        let digits = b[9..<12]
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw ResponseParseError("status code is not three digits") }
        let status = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        guard (100...599).contains(status) else { throw ResponseParseError("status code \(status) out of range") }
        var reason = ""
        if b.count > 12 {
            guard b[12] == 32 else { throw ResponseParseError("status code is not three digits") }
            let text = b[13...]
            guard text.allSatisfy(ByteClass.isFieldValueByte) else { throw ResponseParseError("control character in reason phrase") }
            reason = String(decoding: text, as: UTF8.self)
        }
        return (version, status, reason)
    }

    private func parseFields(_ lines: ArraySlice<ArraySlice<UInt8>>) throws -> HTTPHeaders {
        guard lines.count <= limits.maxHeaderCount else { throw ResponseParseError("more than \(limits.maxHeaderCount) header fields") }
        var headers = HTTPHeaders()
        for line in lines {
            guard let first = line.first else { throw ResponseParseError("empty header line") }
            if first == 32 || first == 9 { throw ResponseParseError("obsolete line folding") }
            guard let colon = line.firstIndex(of: 58) else { throw ResponseParseError("header line without a colon") }
            let name = line[line.startIndex..<colon]
            guard FieldSyntax.isToken(name) else { throw ResponseParseError("invalid header field name") }
            var lo = colon + 1, hi = line.endIndex
            while lo < hi, line[lo] == 32 || line[lo] == 9 { lo += 1 }
            while hi > lo, line[hi - 1] == 32 || line[hi - 1] == 9 { hi -= 1 }
            let value = line[lo..<hi]
            guard value.allSatisfy(ByteClass.isFieldValueByte) else { throw ResponseParseError("control character in header field value") }
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }
        return headers
    }

    /// RFC 9112 6.3, strictly: TE with CL, TE in HTTP/1.0, a final coding other
    /// than chunked alone, and differing or invalid lengths are all errors.
    private func framing(status: Int, version: HTTPVersion, headers: HTTPHeaders) throws -> ResponseFraming {
        if requestMethod == "HEAD" || status < 200 || status == 204 || status == 304 { return .noBody }
        let codings = FieldSyntax.listElements(headers.values("Transfer-Encoding"))
        let lengths = FieldSyntax.listElements(headers.values("Content-Length"))
        if headers.contains("Transfer-Encoding") {
            if version == .http10 { throw ResponseParseError("Transfer-Encoding in an HTTP/1.0 response") }
            if !lengths.isEmpty || headers.contains("Content-Length") { throw ResponseParseError("both Transfer-Encoding and Content-Length") }
            guard codings.count == 1, String(codings[0]).caseInsensitiveEquals("chunked") else {
                throw ResponseParseError("unsupported transfer coding \"\(headers.values("Transfer-Encoding").joined(separator: ", "))\"")
            }
            return .chunked
        }
        if headers.contains("Content-Length") {
            guard let first = lengths.first else { throw ResponseParseError("empty Content-Length") }
            for l in lengths where l != first { throw ResponseParseError("conflicting Content-Length values") }
            guard first.count <= 18, first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(first) else {
                throw ResponseParseError("invalid Content-Length \"\(first)\"")
            }
            return .contentLength(n)
        }
        return .untilClose
    }

    // MARK: chunked

    private mutating func chunkLineDone(_ events: inout [ResponseEvent]) throws {
        guard buffer.count >= 2, buffer[buffer.count - 2] == 13 else { throw ResponseParseError("bare LF in chunk size line") }
        let line = buffer[0..<(buffer.count - 2)]
        buffer = []
        var size = 0
        var k = line.startIndex
        while k < line.endIndex, let d = Self.hexValue(line[k]) {
            guard k - line.startIndex < 15 else { throw ResponseParseError("chunk size too large") }
            size = size * 16 + d
            k += 1
        }
        guard k > line.startIndex else { throw ResponseParseError("missing chunk size") }
        // Chunk extensions: BWS ";" ... ; checked for control characters, then ignored.
        let ext = line[k...]
        if let f = ext.first {
            guard f == 59 || f == 32 || f == 9 else { throw ResponseParseError("invalid chunk size") }
            guard ext.contains(59), ext.allSatisfy(ByteClass.isFieldValueByte) else { throw ResponseParseError("invalid chunk extension") }
        }
        state = size == 0 ? .trailers : .chunkData(remaining: size)
    }

    @inline(__always)
    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c - 48)
        case 65...70: return Int(c - 55)
        case 97...102: return Int(c - 87)
        default: return nil
        }
    }
}
