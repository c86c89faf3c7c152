/// Strict RFC 9112 request-head parser. Stateless: call `parse` with all
/// bytes received so far for the current request; it never reads past the head.
public struct RequestParser: Sendable {
    public var limits: ParserLimits

    public init(limits: ParserLimits = ParserLimits()) { self.limits = limits }

    /// Parses the head at the start of `bytes`. Never throws; invalid input is
    /// reported as `.invalid` with the status to answer.
    public func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        // Placeholder until the parser lands (issue 3).
        return .invalid(HTTPParseError(status: 501, reason: "parser not implemented"))
    }
}
