import HTTPCore

/// How a response body is delimited (RFC 9112 6.3).
public enum ResponseFraming: Sendable, Equatable {
    /// No body: HEAD, 1xx, 204, 304.
    case noBody
    case contentLength(Int)
    case chunked
    /// Until the backend closes the connection.
    case untilClose
}

/// A parsed response head from a backend.
public struct BackendResponseHead: Sendable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var framing: ResponseFraming
    /// Whether the backend connection may carry another request afterwards.
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

/// A backend response that cannot be relayed safely; the client gets 502.
public struct ResponseParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid upstream response: \(reason)" }
}

/// Limits for backend responses.
public struct ResponseParserLimits: Sendable {
    public var maxHeadBytes: Int = 65536
    public var maxHeaderCount: Int = 200
    public var maxChunkLine: Int = 4096
    public var maxTrailerBytes: Int = 16384
    /// Interim (1xx) responses accepted before the final one.
    public var maxInterimResponses: Int = 8

    public init() {}
}

/// One step of a parsed response.
public enum ResponseEvent: Sendable {
    /// A 1xx other than 101 (e.g. 103 Early Hints); the final response follows.
    case informational(BackendResponseHead)
    case head(BackendResponseHead)
    /// Decoded body bytes (chunk framing removed).
    case body([UInt8])
    /// The response is complete; trailer fields of a chunked body, if any.
    case end(trailers: HTTPHeaders)
}
