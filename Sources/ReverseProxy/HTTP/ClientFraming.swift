import HTTPCore

/// How a relayed body is framed towards the client.
public enum ClientFraming: Sendable, Equatable {
    /// No body (HEAD, 1xx, 204, 304): the backend's Content-Length, if any, is kept.
    case noBody
    case contentLength(Int)
    /// Re-chunked (a chunked or close-delimited backend body, HTTP/1.1 client):
    /// the client connection stays open.
    case chunked
    /// Close-delimited (HTTP/1.0 client and unknown length).
    case close

    /// The framing for relaying `head` as it streams. A close-delimited backend
    /// body is re-chunked for HTTP/1.1 clients so their connection survives.
    public static func forRelay(of head: BackendResponseHead, clientVersion: HTTPVersion) -> ClientFraming {
        switch head.framing {
        case .noBody: return .noBody
        case .contentLength(let n): return .contentLength(n)
        case .chunked, .untilClose: return clientVersion == .http11 ? .chunked : .close
        }
    }
}
