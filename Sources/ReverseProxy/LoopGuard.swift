import CapuchinServer
import HTTPCore

/// Detects requests that would loop back into this server: a backend that is
/// one of our own listen addresses, or a request that already passed through
/// us (our `Via` pseudonym or our loop marker header).
public struct LoopGuard: Sendable {
    /// The header this server adds upstream with its node id, for backends that
    /// rewrite `Via`.
    public static let markerHeader = "X-Capuchin-Loop"

    public let nodeID: String
    /// Where this server listens (host may be a wildcard: "0.0.0.0", "::", "*", "").
    public let listenAddresses: [BackendAddress]

    public init(nodeID: String, listenAddresses: [BackendAddress]) {
        self.nodeID = nodeID
        self.listenAddresses = listenAddresses
    }

    /// Our received-by name in `Via`.
    public var pseudonym: String { "capuchin-\(nodeID)" }

    /// Whether connecting to `backend` would reach this server: same port, and
    /// the same host, or a loopback/unspecified host while we listen on a
    /// wildcard or loopback address. (Other local interface addresses are
    /// caught by the `Via` check on the looped request.)
    public func isSelf(_ backend: BackendAddress) -> Bool {
        listenAddresses.contains { listen in
            guard listen.port == backend.port else { return false }
            if listen.host == backend.host { return true }
            let listenLocal = Self.isWildcard(listen.host) || Self.isLoopback(listen.host)
            return listenLocal && (Self.isLoopback(backend.host) || Self.isWildcard(backend.host))
        }
    }

    /// Whether `headers` (of an incoming request) show it already passed here.
    public func isLoop(_ headers: HTTPHeaders) -> Bool {
        // One pass over the fields; nothing is allocated unless one of the two is present.
        for f in headers {
            if f.name.caseInsensitiveEquals("Via") {
                for member in FieldSyntax.listElements([f.value]) {
                    // member: received-protocol RWS received-by [RWS comment]
                    let parts = member.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    if parts.count >= 2, String(parts[1]).caseInsensitiveEquals(pseudonym) { return true }
                }
            } else if f.name.caseInsensitiveEquals(Self.markerHeader) {
                if FieldSyntax.listElements([f.value]).contains(where: { String($0) == nodeID }) { return true }
            }
        }
        return false
    }

    /// The answer to a looping request: 508 Loop Detected.
    public func loopDetectedResponse() -> Response {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        headers.add("Connection", "close")
        return Response(status: 508, headers: headers, body: .bytes(Array("Loop detected: this request already passed through \(pseudonym).\n".utf8)))
    }

    static func isWildcard(_ host: String) -> Bool { host == "0.0.0.0" || host == "::" || host == "*" || host.isEmpty }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host.hasSuffix(".localhost") { return true }
        guard let bytes = AddressRange.parseIPv4(Substring(host)) else { return false }
        return bytes[0] == 127
    }
}
