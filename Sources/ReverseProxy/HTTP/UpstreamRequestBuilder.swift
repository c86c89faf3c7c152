import HTTPCore

/// Who sent the request to us, as the X-Forwarded-* headers need it.
public struct ClientInfo: Sendable {
    public var address: String
    /// "http" or "https".
    public var scheme: String

    public init(address: String, scheme: String = "http") {
        self.address = address
        self.scheme = scheme
    }
}

/// Rewrites a client request for a backend: hop-by-hop fields removed, Via and
/// X-Forwarded-* added, Host as the pool says, framing set for the body as it
/// will be sent; serialized as an HTTP/1.1 head.
public struct UpstreamRequestBuilder: Sendable {
    public let pool: PoolConfig
    public let loopGuard: LoopGuard

    public init(pool: PoolConfig, loopGuard: LoopGuard) {
        self.pool = pool
        self.loopGuard = loopGuard
    }

    /// The header fields to send upstream. `body` is how the request body will
    /// be framed on the upstream connection (a chunked client body may be sent
    /// chunked again or, once buffered, with a length).
    public func headers(for request: HTTPRequest, client: ClientInfo, backend: BackendAddress,
                        body: BodyFraming, closeConnection: Bool = false) -> HTTPHeaders {
        var h = HopByHop.stripped(request.headers)
        let trusted = pool.trusts(client.address)

        let clientHost = request.headers["Host"]
        let host: String?
        switch pool.hostHeader {
        case .pass: host = clientHost
        case .backend: host = backend.hostHeader
        case .fixed(let value): host = value
        }
        // Host goes first, as RFC 9112 3.2 asks of clients.
        h.remove("Host")
        if let host { h = HTTPHeaders([("Host", host)] + h.fields.map { ($0.name, $0.value) }) }

        let forwardedFor = h.values("X-Forwarded-For")
        if trusted && !forwardedFor.isEmpty {
            h.set("X-Forwarded-For", (forwardedFor + [client.address]).joined(separator: ", "))
        } else {
            h.set("X-Forwarded-For", client.address)
        }
        if !(trusted && h.contains("X-Forwarded-Proto")) { h.set("X-Forwarded-Proto", client.scheme) }
        if !(trusted && h.contains("X-Forwarded-Host")) {
            if let clientHost { h.set("X-Forwarded-Host", clientHost) } else { h.remove("X-Forwarded-Host") }
        }
        // RFC 7239 Forwarded from an untrusted client is a spoof: drop it, and the
        // override fields that frameworks trust for routing, URLs or the method:
        // they are not part of the cache key, so an origin that reflects one into
        // a cacheable answer would let one client poison what others get.
        if !trusted {
            h.remove("Forwarded")
            for name in Self.untrustedOverrides { h.remove(name) }
            h.set("X-Real-IP", client.address)
        }

        let version = request.version == .http10 ? "1.0" : "1.1"
        h.set("Via", (h.values("Via") + ["\(version) \(loopGuard.pseudonym)"]).joined(separator: ", "))
        h.set(LoopGuard.markerHeader, (h.values(LoopGuard.markerHeader) + [loopGuard.nodeID]).joined(separator: ", "))

        h.remove("Content-Length")
        switch body {
        case .none: break
        case .contentLength(let n): h.add("Content-Length", String(n))
        case .chunked: h.add("Transfer-Encoding", "chunked")
        }
        if closeConnection { h.add("Connection", "close") }
        return h
    }

    /// Dropped from untrusted clients (X-Real-IP is replaced by the client's address).
    static let untrustedOverrides = [
        "X-Host", "X-Original-Host", "X-Forwarded-Server", "X-Forwarded-Scheme", "X-Forwarded-Port",
        "X-Forwarded-Prefix", "X-Forwarded-Ssl", "X-Url-Scheme", "X-Original-URL", "X-Rewrite-URL",
        "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
    ]

    /// The whole upstream request head as bytes.
    public func head(for request: HTTPRequest, client: ClientInfo, backend: BackendAddress,
                     body: BodyFraming, closeConnection: Bool = false) -> [UInt8] {
        let h = headers(for: request, client: client, backend: backend, body: body, closeConnection: closeConnection)
        return HeadSerializer.serialize(startLine: "\(request.method) \(Self.originForm(request.target)) HTTP/1.1", headers: h)
    }

    /// The request-target in origin form: absolute-form loses scheme and authority.
    static func originForm(_ target: String) -> String {
        if target.hasPrefix("/") || target == "*" { return target }
        guard let schemeEnd = target.firstRange(of: "://") else { return target }
        let rest = target[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let path = rest[slash...]
        return path.hasPrefix("?") ? "/" + path : String(path)
    }
}
