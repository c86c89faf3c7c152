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

/// Chunked transfer coding for bodies sent to clients (no extensions, no trailers).
public enum ChunkedEncoder {
    /// One chunk carrying `bytes`; empty input gives no bytes (an empty chunk
    /// would end the body).
    public static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out += [13, 10]
        out += bytes
        out += [13, 10]
        return out
    }

    /// The last chunk and the empty trailer section.
    public static let end: [UInt8] = Array("0\r\n\r\n".utf8)
}
