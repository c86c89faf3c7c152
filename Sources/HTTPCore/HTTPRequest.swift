/// The HTTP version of a request or response (only 1.0 and 1.1 are accepted).
public enum HTTPVersion: Sendable, Equatable {
    case http10
    case http11

    public var text: String { self == .http10 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// How a request's body is framed (RFC 9112 section 6).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
}

/// One parsed request head. `target` is the raw request-target as sent;
/// `path` is the percent-decoded, dot-segment-free path (origin-form only);
/// `query` is the raw query without `?`, if any.
public struct HTTPRequest: Sendable {
    public var method: String
    public var target: String
    public var path: String
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var framing: BodyFraming
    /// False when the client asked to close (HTTP/1.0 without keep-alive, or `Connection: close`).
    public var keepAlive: Bool
    /// The Host header's value, lowercased, without port.
    public var host: String?
    /// The path held a backslash (raw or `%5C`); kept as an ordinary byte.
    public var pathHasBackslash: Bool = false
    /// The request carried `Expect: 100-continue`.
    public var expectsContinue: Bool = false

    public init(method: String, target: String, path: String, query: String?, version: HTTPVersion,
                headers: HTTPHeaders, framing: BodyFraming, keepAlive: Bool, host: String?,
                pathHasBackslash: Bool = false, expectsContinue: Bool = false) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.framing = framing
        self.keepAlive = keepAlive
        self.host = host
        self.pathHasBackslash = pathHasBackslash
        self.expectsContinue = expectsContinue
    }

    public var isHead: Bool { method == "HEAD" }
}
