/// How a response body is delimited (RFC 9112 6.3).
public enum ResponseFraming: Sendable, Equatable {
    /// No body: a response to HEAD, 1xx, 204, 304.
    case noBody
    case contentLength(Int)
    case chunked
    /// Until the sender closes the connection.
    case untilClose
}

/// One parsed response head (what `ResponseParser` produces; the proxy calls
/// it a backend's response head).
public struct HTTPResponseHead: Sendable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var framing: ResponseFraming
    /// Whether the connection may carry another request afterwards.
    public var keepAlive: Bool

    public init(version: HTTPVersion, status: Int, reason: String, headers: HTTPHeaders,
                framing: ResponseFraming, keepAlive: Bool) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.framing = framing
        self.keepAlive = keepAlive
    }
}

/// A response that cannot be relayed safely (the proxy answers 502).
public struct ResponseParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid upstream response: \(reason)" }
}

/// Limits for responses; each overrun is a `ResponseParseError`.
public struct ResponseParserLimits: Sendable {
    /// The head (status line, fields, blank line), in bytes.
    public var maxHeadBytes: Int = 65536
    public var maxHeaderCount: Int = 200
    /// A chunk-size line (size and extensions).
    public var maxChunkLine: Int = 4096
    public var maxTrailerBytes: Int = 16384
    public var maxTrailerCount: Int = 64
    /// Interim (1xx) responses accepted before the final one.
    public var maxInterimResponses: Int = 8

    public init() {}
}

/// One step of a parsed response.
public enum ResponseEvent: Sendable {
    /// A 1xx other than 101 (e.g. 103 Early Hints); the final response follows.
    case informational(HTTPResponseHead)
    case head(HTTPResponseHead)
    /// Decoded body bytes (chunk framing removed).
    case body([UInt8])
    /// The response is complete; trailer fields of a chunked body, if any.
    case end(trailers: HTTPHeaders)
}
