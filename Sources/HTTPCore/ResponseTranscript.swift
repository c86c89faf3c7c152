/// What `ResponseParser` makes of the bytes of one connection fed `step` at a
/// time, then (if `eof`) the connection's end. The fuzzer compares transcripts
/// of one input split differently; the corpus and unit tests check them.
struct ResponseTranscript {
    /// The parser's reason when it refused the response.
    var error: String?
    var interim: [Int] = []
    var body: [UInt8] = []
    /// Set once the response ended (empty unless a chunked body had trailers).
    var trailers: HTTPHeaders?
    /// The parser afterwards: its `head`, `isComplete`, `sawExcessData`.
    var parser: ResponseParser

    init(_ bytes: UnsafeRawBufferPointer, method: String, limits: ResponseParserLimits = ResponseParserLimits(),
         step: Int, eof: Bool = true) {
        parser = ResponseParser(requestMethod: method, limits: limits)
        do {
            var events: [ResponseEvent] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + min(step, bytes.count))
                events += try parser.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
            if eof { events += try parser.finishAtEOF() }
            for event in events {
                switch event {
                case .informational(let h): interim.append(h.status)
                case .head: break
                case .body(let b): body += b
                case .end(let t): trailers = t
                }
            }
        } catch {
            guard let e = error as? ResponseParseError else { preconditionFailure("unexpected error type \(error)") }
            self.error = e.reason
        }
    }

    /// Everything but the error's wording, for comparing two splits of one input.
    struct Outline: Equatable {
        var accepted: Bool
        var status: Int?
        var framing: ResponseFraming?
        var keepAlive: Bool?
        var fieldCount: Int?
        var interim: [Int]
        var body: [UInt8]
        var trailerCount: Int?
        var complete: Bool
        var excess: Bool
    }

    var outline: Outline {
        let head = parser.head
        return Outline(accepted: error == nil, status: head?.status, framing: head?.framing, keepAlive: head?.keepAlive,
                       fieldCount: head?.headers.count, interim: interim, body: body, trailerCount: trailers?.count,
                       complete: parser.isComplete, excess: parser.sawExcessData)
    }
}
