/// What the fuzzer (Tools/fuzz) runs on each input, and what CorpusTests and
/// ResponseCorpusTests replay on every corpus file: every HTTPCore entry point
/// that takes untrusted bytes (request and response parsers, chunked decoder,
/// field helpers), with invariants that trap (a finding) when broken.
public enum FuzzTarget {
    public static func check(_ bytes: UnsafeRawBufferPointer) {
        checkParser(bytes)
        checkResponseParser(bytes)
        checkChunked(bytes)
        checkFieldHelpers(bytes)
    }
}

private func checkParser(_ bytes: UnsafeRawBufferPointer) {
    var limits = ParserLimits()
    limits.maxRequestLine = 1024   // small limits so the fuzzer reaches them
    limits.maxHeaderBytes = 2048
    limits.maxHeaderCount = 20
    let parser = RequestParser(limits: limits)
    switch parser.parse(bytes) {
    case .complete(let request, let consumed):
        precondition(consumed > 0 && consumed <= bytes.count, "consumed out of range")
        // The head alone parses the same: the parser never looks past it.
        guard case .complete(let again, let consumed2) = parser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<consumed])),
              consumed2 == consumed, again.path == request.path, again.method == request.method else {
            preconditionFailure("head parses differently without the bytes after it")
        }
        // One byte less is never complete.
        if case .complete = parser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<(consumed - 1)])) {
            preconditionFailure("a proper prefix of a head is complete")
        }
        checkPath(request.path)
        if let host = request.host { precondition(!host.isEmpty && host == host.lowercased(), "host not lowercased") }
        if case .chunked = request.framing { precondition(request.version == .http11, "chunked in HTTP/1.0") }
    case .incomplete:
        precondition(bytes.count <= limits.maxRequestLine + limits.maxHeaderBytes + 64, "incomplete past the limits")
    case .invalid(let error):
        precondition([400, 414, 431, 501, 505].contains(error.status), "unexpected status \(error.status)")
    }
}

/// A response parsed whole and byte by byte gets the same verdict, head and
/// body; a body has the length its framing says; a response to HEAD has none.
private func checkResponseParser(_ bytes: UnsafeRawBufferPointer) {
    var limits = ResponseParserLimits()
    limits.maxHeadBytes = 2048   // small limits so the fuzzer reaches them
    limits.maxHeaderCount = 20
    limits.maxChunkLine = 256
    limits.maxTrailerBytes = 512
    limits.maxTrailerCount = 8
    limits.maxInterimResponses = 3
    // GET whole and byte by byte; HEAD whole (its split behaves as GET's head does).
    for method in ["GET", "HEAD"] {
        let whole = ResponseTranscript(bytes, method: method, limits: limits, step: bytes.count)
        if method == "GET" {
            let single = ResponseTranscript(bytes, method: method, limits: limits, step: 1)
            precondition((whole.error == nil) == (single.error == nil), "response split changes the verdict")
            precondition(whole.error != nil || whole.outline == single.outline, "response split changes the response")
        }
        guard whole.error == nil, let head = whole.parser.head else { continue }
        precondition(head.status >= 200 && head.status <= 599 && head.status != 101, "final status out of range")
        precondition(whole.interim.count <= limits.maxInterimResponses && whole.interim.allSatisfy { $0 >= 100 && $0 < 200 && $0 != 101 },
                     "interim responses out of range")
        precondition(whole.trailers != nil && whole.parser.isComplete, "complete response without its end")
        switch head.framing {
        case .noBody: precondition(whole.body.isEmpty, "body in a response without one")
        case .contentLength(let n): precondition(whole.body.count == n, "body length differs from Content-Length")
        case .chunked: precondition(head.version == .http11, "chunked in HTTP/1.0")
        case .untilClose: precondition(!head.keepAlive, "close-delimited body on a reusable connection")
        }
        if method == "HEAD" { precondition(head.framing == .noBody, "a response to HEAD with a body") }
    }
}

/// A normalised path has no dot-segments, no empty segments, no NUL. Checked on
/// bytes: a combining mark after "/" makes a single Character with it, so
/// Character-based checks (hasPrefix, split) would see no slash there.
private func checkPath(_ path: String) {
    if path == "" || path == "*" { return }
    let bytes = Array(path.utf8)
    precondition(bytes.first == UInt8(ascii: "/"), "path does not start with /")
    precondition(!bytes.contains(0), "NUL in path")
    let segments = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
    for (k, s) in segments.enumerated() {
        precondition(!s.elementsEqual([46]) && !s.elementsEqual([46, 46]), "dot-segment left in \(path)")
        precondition(!s.isEmpty || k == segments.count - 1, "empty segment in \(path)")
    }
}

/// Decoding in one piece and byte by byte must agree.
private func checkChunked(_ bytes: UnsafeRawBufferPointer) {
    var limits = ChunkedLimits()
    limits.maxBodyBytes = 1 << 16
    func run(step: Int) -> (body: [UInt8], consumed: Int, status: Int, complete: Bool) {
        var decoder = ChunkedDecoder(limits: limits)
        var body: [UInt8] = []
        var offset = 0
        do {
            while offset < bytes.count, !decoder.isComplete {
                let end = min(bytes.count, offset + step)
                offset += try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) { body.append(contentsOf: $0) }
            }
        } catch let e as HTTPParseError {
            return (body, offset, e.status, false)
        } catch {
            preconditionFailure("unexpected error type")
        }
        return (body, offset, 0, decoder.isComplete)
    }
    let whole = run(step: Int.max / 2), single = run(step: 1)
    precondition(whole.status == single.status && whole.complete == single.complete, "chunked split changes the verdict")
    if whole.complete { precondition(whole.body == single.body && whole.consumed == single.consumed, "chunked split changes the body") }
}

private func checkFieldHelpers(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes.prefix(512), as: UTF8.self)
    if let t = HTTPDate.parse(text) {
        precondition(HTTPDate.parse(HTTPDate.format(epochSeconds: t)) == t || t < 0 || t > 253_402_300_799, "date round trip")
    }
    _ = EntityTag.parseList(text)
    if let specs = ByteRanges.parse(text) {
        for length in [0, 1, 100, Int.max / 2] {
            if case .ranges(let ranges) = ByteRanges.resolve(specs, length: length) {
                precondition(!ranges.isEmpty && ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound < length }, "range outside the representation")
                precondition(ranges.reduce(0) { $0 + $1.count } <= length, "ranges add up to more than the representation")
            }
        }
    }
    var headers = HTTPHeaders()
    headers.add("If-None-Match", text)
    headers.add("Range", text)
    headers.add("If-Range", text)
    _ = ConditionalEvaluator.evaluate(method: "GET", headers: headers, etag: "\"x\"", lastModifiedSeconds: 1000, length: 500)
}
