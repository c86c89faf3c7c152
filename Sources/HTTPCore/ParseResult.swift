/// Limits the parser enforces; each overrun maps to its own status.
public struct ParserLimits: Sendable {
    /// Longest request line (method SP target SP version); over it: 414.
    public var maxRequestLine: Int = 8192
    /// Largest header section (all field lines); over it: 431.
    public var maxHeaderBytes: Int = 32768
    /// Most header fields; over it: 431.
    public var maxHeaderCount: Int = 100

    public init() {}
}

/// Why a request was refused, with the status to answer.
public struct HTTPParseError: Error, Sendable, Equatable {
    public var status: Int
    public var reason: String
    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }
}

/// The outcome of parsing the start of a buffer.
public enum ParseResult: Sendable {
    /// A whole request head; `consumed` bytes (through the blank line) belong to it.
    case complete(HTTPRequest, consumed: Int)
    /// More bytes are needed (no limit has been passed yet).
    case incomplete
    /// The request is invalid; answer `error.status` and close.
    case invalid(HTTPParseError)
}
