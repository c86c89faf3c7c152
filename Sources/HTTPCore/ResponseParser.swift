/// Incremental, strict HTTP/1.1 response parser (RFC 9112), the response-side
/// twin of `RequestParser`. Feed bytes as they arrive; it returns the events
/// they complete.
///
/// Choices where RFC 9112 leaves room (each a `ResponseParseError`):
/// - Field lines go through `FieldLine.scan`, as request heads and trailers do:
///   CRLF only (a bare LF or bare CR is refused), no obs-fold, token names,
///   no whitespace before the colon, no CTL but HTAB in values.
/// - Status line: `HTTP/1.1` or `HTTP/1.0` (case-sensitive), SP, three digits
///   100-599, then nothing or SP and a reason phrase without CTLs.
/// - Framing (6.3): no body for a response to HEAD, 1xx, 204 and 304; a
///   Transfer-Encoding must be exactly `chunked` (anything else, with
///   Content-Length, or in HTTP/1.0, is refused: a proxy must not guess where
///   a body ends); Content-Length may repeat one value (`5, 5`); otherwise
///   the body runs until the connection closes.
/// - 101 is refused (we never ask to upgrade); up to `maxInterimResponses` other
///   1xx responses come as `.informational` before the final head.
/// - The chunked body goes through `ChunkedDecoder`, the same as request bodies.
public struct ResponseParser: Sendable {
    private enum State: Sendable {
        case head
        case fixed(remaining: Int)
        case chunked
        case untilClose
        case done
    }

    public let requestMethod: String
    public let limits: ResponseParserLimits
    private var state: State = .head
    /// Head bytes received so far, when a head arrives in more than one read.
    private var buffer: [UInt8] = []
    private var chunked: ChunkedDecoder
    private var interimCount = 0
    /// The final head, once parsed.
    public private(set) var head: HTTPResponseHead?
    /// Bytes arrived after the response ended: the connection must not be reused.
    public private(set) var sawExcessData = false

    public init(requestMethod: String, limits: ResponseParserLimits = ResponseParserLimits()) {
        self.requestMethod = requestMethod
        self.limits = limits
        var chunkedLimits = ChunkedLimits()
        chunkedLimits.maxBodyBytes = Int.max
        chunkedLimits.maxChunkSize = (1 << 60) - 1  // 15 hex digits
        chunkedLimits.maxSizeLineBytes = limits.maxChunkLine
        chunkedLimits.maxTrailerBytes = limits.maxTrailerBytes
        chunkedLimits.maxTrailerCount = limits.maxTrailerCount
        chunked = ChunkedDecoder(limits: chunkedLimits)
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
            case .chunked:
                do {
                    i += try chunked.decode(UnsafeRawBufferPointer(rebasing: input[i..<n])) { events.append(.body(Array($0))) }
                } catch let e as HTTPParseError {
                    throw ResponseParseError(e.reason)
                }
                if chunked.isComplete {
                    state = .done
                    events.append(.end(trailers: chunked.trailers))
                }
            case .done:
                sawExcessData = true
                head?.keepAlive = false
                return events
            }
        }
        return events
    }

    /// The sender closed the connection. Returns the final `.end` for a
    /// close-delimited body. Throws `ResponseParseError` when the response was
    /// cut short (head, a length or a chunked body incomplete).
    public mutating func finishAtEOF() throws -> [ResponseEvent] {
        switch state {
        case .done: return []
        case .untilClose:
            state = .done
            return [.end(trailers: HTTPHeaders())]
        case .head:
            throw ResponseParseError(buffer.isEmpty && head == nil && interimCount == 0
                                     ? "connection closed before any response" : "connection closed inside the response head")
        default:
            throw ResponseParseError("connection closed before the body was complete")
        }
    }

    private mutating func finish(_ events: inout [ResponseEvent]) {
        state = .done
        events.append(.end(trailers: HTTPHeaders()))
    }

    // MARK: head

    /// Takes head bytes from `input[i...]`; returns how many it used. A head
    /// that arrives whole is parsed where it lies, without a copy.
    private mutating func consumeHead(_ input: UnsafeRawBufferPointer, from i: Int, events: inout [ResponseEvent]) throws -> Int {
        if buffer.isEmpty {
            let rest = UnsafeRawBufferPointer(rebasing: input[i...])
            let searchable = min(rest.count, limits.maxHeadBytes)
            if let end = try Self.headEnd(UnsafeRawBufferPointer(rebasing: rest[..<searchable]), from: 0) {
                try headComplete(UnsafeRawBufferPointer(rebasing: rest[..<end]), events: &events)
                return end
            }
            if rest.count > limits.maxHeadBytes { throw headTooLarge() }
            buffer.append(contentsOf: rest)
            return rest.count
        }
        let start = buffer.count
        let take = min(input.count - i, limits.maxHeadBytes - start + 1)
        buffer.append(contentsOf: input[i..<(i + take)])
        // Moved out (no copy: the array stays uniquely referenced) so that parsing,
        // which mutates self, does not overlap an access to self.buffer.
        let collected = buffer
        buffer = []
        let searchable = min(collected.count, limits.maxHeadBytes)
        let found = try collected.withUnsafeBytes {
            try Self.headEnd(UnsafeRawBufferPointer(rebasing: $0[..<searchable]), from: max(0, start - 3))
        }
        guard let end = found else {
            if collected.count > limits.maxHeadBytes { throw headTooLarge() }
            buffer = collected
            return take
        }
        try collected.withUnsafeBytes { try headComplete(UnsafeRawBufferPointer(rebasing: $0[..<end]), events: &events) }
        return end - start
    }

    private func headTooLarge() -> ResponseParseError {
        ResponseParseError("response head larger than \(limits.maxHeadBytes) bytes")
    }

    /// The index just past the head's blank line, searching LFs from `from`;
    /// nil when the head has not ended within `p`.
    /// - Throws: for a LF without its CR (bare LF).
    private static func headEnd(_ p: UnsafeRawBufferPointer, from: Int) throws -> Int? {
        var j = from
        let n = p.count
        while j < n {
            if p[j] == ByteClass.lf {
                guard j > 0, p[j - 1] == ByteClass.cr else { throw ResponseParseError("bare LF line ending") }
                if j >= 3, p[j - 2] == ByteClass.lf, p[j - 3] == ByteClass.cr { return j + 1 }
            }
            j += 1
        }
        return nil
    }

    /// Parses the head in `p` (through its blank line) and sets the body state.
    private mutating func headComplete(_ p: UnsafeRawBufferPointer, events: inout [ResponseEvent]) throws {
        let parsed: HTTPResponseHead
        do {
            parsed = try parseHead(p)
        } catch let e as HTTPParseError {
            throw ResponseParseError(e.reason)
        }
        if parsed.status < 200 {
            interimCount += 1
            if interimCount > limits.maxInterimResponses { throw ResponseParseError("too many interim (1xx) responses") }
            events.append(.informational(parsed))
            return
        }
        head = parsed
        events.append(.head(parsed))
        switch parsed.framing {
        case .noBody, .contentLength(0): finish(&events)
        case .contentLength(let length): state = .fixed(remaining: length)
        case .chunked: state = .chunked
        case .untilClose: state = .untilClose
        }
    }

    private func parseHead(_ p: UnsafeRawBufferPointer) throws -> HTTPResponseHead {
        // headEnd proved every LF has its CR, so the status line ends at the first CR LF.
        var lineEnd = 0
        while p[lineEnd] != ByteClass.lf { lineEnd += 1 }
        guard lineEnd >= 2 else { throw ResponseParseError("missing status line") }
        let (version, status, reason) = try Self.parseStatusLine(UnsafeRawBufferPointer(rebasing: p[..<(lineEnd - 1)]))
        var headers = HTTPHeaders()
        headers.reserveCapacity(16)
        var i = lineEnd + 1
        while p[i] != ByteClass.cr || p[i + 1] != ByteClass.lf {
            guard let f = try FieldLine.scan(p, at: i, isFirst: headers.count == 0) else {
                throw ResponseParseError("malformed response head")
            }
            if headers.count >= limits.maxHeaderCount { throw ResponseParseError("more than \(limits.maxHeaderCount) header fields") }
            headers.add(p.string(f.name), p.string(f.value))
            i = f.next
        }
        guard i + 2 == p.count else { throw ResponseParseError("malformed response head") }
        if status == 101 { throw ResponseParseError("101 Switching Protocols was not requested") }
        let framing = try framing(status: status, version: version, headers: headers)
        let tokens = FieldSyntax.listElements(headers.values("Connection"))
        let persistent = version == .http11
            ? !tokens.contains { $0.utf8.count == 5 && String($0).caseInsensitiveEquals("close") }
            : tokens.contains { $0.utf8.count == 10 && String($0).caseInsensitiveEquals("keep-alive") }
        return HTTPResponseHead(version: version, status: status, reason: reason, headers: headers, framing: framing,
                                keepAlive: persistent && framing != .untilClose)
    }

    /// `HTTP/1.x SP 3DIGIT [ SP reason-phrase ]`, without its CRLF.
    private static func parseStatusLine(_ b: UnsafeRawBufferPointer) throws -> (HTTPVersion, Int, String) {
        guard b.count >= 12, b.equalsCase(0..<5, "HTTP/"), b[6] == UInt8(ascii: "."), b[8] == ByteClass.sp else {
            throw ResponseParseError("malformed status line")
        }
        let version: HTTPVersion
        switch (b[5], b[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): version = .http11
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): version = .http10
        default: throw ResponseParseError("unsupported HTTP version in status line")
        }
        guard ByteClass.isDigit(b[9]), ByteClass.isDigit(b[10]), ByteClass.isDigit(b[11]) else {
            throw ResponseParseError("status code is not three digits")
        }
        let status = Int(b[9] &- 48) * 100 + Int(b[10] &- 48) * 10 + Int(b[11] &- 48)
        guard (100...599).contains(status) else { throw ResponseParseError("status code \(status) out of range") }
        guard b.count > 12 else { return (version, status, "") }
        guard b[12] == ByteClass.sp else { throw ResponseParseError("status code is not three digits") }
        for j in 13..<b.count where !ByteClass.isFieldValueByte(b[j]) {
            throw ResponseParseError(b[j] == ByteClass.cr ? "bare CR" : "control character in reason phrase")
        }
        return (version, status, b.string(13..<b.count))
    }

    /// RFC 9112 6.3, strictly: TE with CL, TE in HTTP/1.0, a coding other than
    /// chunked alone, and differing or invalid lengths are all errors.
    private func framing(status: Int, version: HTTPVersion, headers: HTTPHeaders) throws -> ResponseFraming {
        if requestMethod == "HEAD" || status < 200 || status == 204 || status == 304 { return .noBody }
        let lengths = headers.values("Content-Length")
        if headers.contains("Transfer-Encoding") {
            if version == .http10 { throw ResponseParseError("Transfer-Encoding in an HTTP/1.0 response") }
            if !lengths.isEmpty { throw ResponseParseError("both Transfer-Encoding and Content-Length") }
            let values = headers.values("Transfer-Encoding")
            let codings = FieldSyntax.listElements(values)
            guard codings.count == 1, String(codings[0]).caseInsensitiveEquals("chunked") else {
                throw ResponseParseError("unsupported transfer coding \"\(values.joined(separator: ", "))\"")
            }
            return .chunked
        }
        if !lengths.isEmpty { return .contentLength(try Self.contentLength(lengths)) }
        return .untilClose
    }

    /// Content-Length (RFC 9112 6.3 rule 5): every field and list element the
    /// same 1 to 18 digits; an empty element is refused (the field is not a
    /// list, only a repetition of one value is tolerated).
    private static func contentLength(_ values: [String]) throws -> Int {
        var length: Substring?
        for value in values {
            for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = FieldSyntax.trimOWS(element)
                guard !digits.isEmpty else { throw ResponseParseError("empty Content-Length") }
                guard digits.utf8.count <= 18, digits.utf8.allSatisfy(ByteClass.isDigit) else {
                    throw ResponseParseError("invalid Content-Length \"\(digits)\"")
                }
                if let length, length != digits { throw ResponseParseError("conflicting Content-Length values") }
                length = digits
            }
        }
        guard let length, let n = Int(length) else { throw ResponseParseError("empty Content-Length") }
        return n
    }
}
