import HTTPCore

/// A backend's `host:port` (IPv6 literals as `[::1]:8080`).
public struct BackendAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`. Throws `ProxyConfigError` (under `key`) when the
    /// port is missing or outside 1...65535, or the host is empty or has
    /// characters no host name or IP literal has.
    public init(parsing text: String, key: String) throws {
        let bad = { (why: String) in ProxyConfigError(key: key, message: "\"\(text)\" is not host:port (\(why))") }
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("unclosed [") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw bad("missing port") }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad("missing port") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw bad("IPv6 addresses go in brackets") }
        }
        guard !hostPart.isEmpty else { throw bad("empty host") }
        guard hostPart.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_") }) else {
            throw bad("invalid host")
        }
        guard let port = Int(portPart), (1...65535).contains(port) else { throw bad("port must be 1...65535") }
        self.init(host: FieldSyntax.lowercased(hostPart), port: port)
    }

    /// `host:port`, bracketing IPv6 literals.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The Host header value naming this backend (port omitted when 80).
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? h : "\(h):\(port)"
    }
}
