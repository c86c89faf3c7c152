import COpenSSL

/// A TLS failure with OpenSSL's reason, as a sentence a log line or a 502 can carry
/// ("cannot load the key from site.key: bad decrypt").
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// `what` followed by the reasons on OpenSSL's error queue for this thread (which it empties).
    static func fromQueue(_ what: String) -> TLSError {
        let reasons = drainReasons()
        return TLSError(reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))")
    }

    /// OpenSSL's reason strings ("wrong version number", "no shared cipher"), oldest first; empties the queue.
    static func drainReasons() -> [String] {
        var out: [String] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            if out.count < 4, let r = ERR_reason_error_string(e) { out.append(String(cString: r)) }
        }
        return out
    }
}
