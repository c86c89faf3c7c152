import CapuchinServer
import HTTPCore

/// Rewrites a backend response head for the client: hop-by-hop fields removed,
/// our `Via` appended, framing fields set for the body as it will be sent.
public struct ClientResponseBuilder: Sendable {
    public let loopGuard: LoopGuard

    public init(loopGuard: LoopGuard) { self.loopGuard = loopGuard }

    /// The header fields to send to the client for `head` framed as `framing`.
    public func headers(for head: BackendResponseHead, framing: ClientFraming) -> HTTPHeaders {
        var h = HopByHop.stripped(head.headers)
        if let own = TargetedCacheControl.ownField { h.remove(own) }
        let version = head.version == .http10 ? "1.0" : "1.1"
        h.set("Via", (h.values("Via") + ["\(version) \(loopGuard.pseudonym)"]).joined(separator: ", "))
        switch framing {
        case .noBody: break
        case .contentLength(let n): h.set("Content-Length", String(n))
        case .chunked:
            h.remove("Content-Length")
            h.add("Transfer-Encoding", "chunked")
        case .close:
            h.remove("Content-Length")
            h.add("Connection", "close")
        }
        return h
    }

    /// A server `Response` for a fully buffered body (cache fills, small
    /// bodies): the server adds Content-Length from the body.
    public func bufferedResponse(for head: BackendResponseHead, body: [UInt8]) -> Response {
        var h = headers(for: head, framing: .noBody)
        if head.framing != .noBody {
            h.remove("Content-Length")
            return Response(status: head.status, headers: h, body: .bytes(body))
        }
        return Response(status: head.status, headers: h, body: .empty)
    }
}
