/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `::1/128`, or a single
/// address), used for the trusted-proxy list. Parsing and matching are pure.
public struct AddressRange: Sendable, Hashable {
    /// Address bytes: 4 for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public let prefixLength: Int

    /// Parses `address[/prefix]`. Throws `ProxyConfigError` under `key`.
    public init(parsing text: String, key: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = Self.parseAddress(parts[0]) else {
            throw ProxyConfigError(key: key, message: "\"\(text)\" is not an IP address or CIDR range")
        }
        let maxBits = bytes.count * 8
        var prefix = maxBits
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxBits).contains(p) else {
                throw ProxyConfigError(key: key, message: "\"\(text)\": prefix length must be 0...\(maxBits)")
            }
            prefix = p
        }
        self.bytes = bytes
        self.prefixLength = prefix
    }

    /// Whether `address` (textual IPv4 or IPv6; IPv4-mapped IPv6 matches IPv4
    /// ranges) lies in this range. Unparseable addresses never match.
    public func contains(_ address: String) -> Bool {
        guard var other = Self.parseAddress(Substring(address)) else { return false }
        if other.count == 16, bytes.count == 4, other[0..<10].allSatisfy({ $0 == 0 }), other[10] == 0xFF, other[11] == 0xFF {
            other = Array(other[12..<16])
        }
        guard other.count == bytes.count else { return false }
        var bits = prefixLength
        var i = 0
        while bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : UInt8(0xFF << (8 - bits) & 0xFF)
            if other[i] & mask != bytes[i] & mask { return false }
            bits -= 8
            i += 1
        }
        return true
    }

    /// Parses a dotted-quad IPv4 or an RFC 4291 IPv6 text address.
    static func parseAddress(_ s: Substring) -> [UInt8]? {
        if s.contains(":") { return parseIPv6(s) }
        return parseIPv4(s)
    }

    static func parseIPv4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseIPv6(_ s: Substring) -> [UInt8]? {
        var text = s
        if let pct = text.firstIndex(of: "%") { text = text[..<pct] }   // zone id
        let gaps = Array(text.ranges(of: "::"))
        guard gaps.count <= 1 else { return nil }
        let halves = gaps.isEmpty ? [text] : [text[..<gaps[0].lowerBound], text[gaps[0].upperBound...]]
        func groups(_ part: Substring) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, f) in fields.enumerated() {
                if i == fields.count - 1, f.contains(".") {
                    guard let v4 = parseIPv4(f) else { return nil }
                    out += v4
                } else {
                    guard (1...4).contains(f.count), let v = UInt16(f, radix: 16) else { return nil }
                    out += [UInt8(v >> 8), UInt8(v & 0xFF)]
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
