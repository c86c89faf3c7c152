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
    // `version` is stored first so that the synthesized memberwise initializer
    // (which the parser calls) differs from the public one in the extension
    // below: a struct made by an explicit initializer was copied on its way
    // into `ParseResult` and the original destroyed (a retain and a release of
    // each field a request; Swift 6.3 -O), while a memberwise one is moved.
    public var version: HTTPVersion
    public var method: String
    public var target: String
    public var path: String
    public var query: String?
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

    public var isHead: Bool { method == "HEAD" }
}

extension HTTPRequest {
    public init(method: String, target: String, path: String, query: String?, version: HTTPVersion,
                headers: HTTPHeaders, framing: BodyFraming, keepAlive: Bool, host: String?,
                pathHasBackslash: Bool = false, expectsContinue: Bool = false) {
        self.init(version: version, method: method, target: target, path: path, query: query, headers: headers,
                  framing: framing, keepAlive: keepAlive, host: host, pathHasBackslash: pathHasBackslash,
                  expectsContinue: expectsContinue)
    }
}
