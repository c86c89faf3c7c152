/// Validates a `host [":" port]` authority (Host header, absolute-form and
/// authority-form targets) and returns the host part as the server matches it.
///
/// Deliberately stricter than RFC 3986 reg-name: only letters, digits, `-`,
/// `.`, `_` and `~` (no sub-delims, no percent-encoding, no `..`), at most 255
/// bytes; IPv6 literals keep their brackets; IPvFuture is refused.
enum HostSyntax {
    static let maxHostLength = 255

    /// The lowercased host without port and without one trailing dot, or nil
    /// when the authority is invalid. An empty authority yields "" unless
    /// `allowEmpty` is false. With `requirePort`, a non-empty port is mandatory.
    static func parse(_ p: UnsafeRawBufferPointer, _ range: Range<Int>,
                      allowEmpty: Bool, requirePort: Bool) -> String? {
        if range.isEmpty { return allowEmpty && !requirePort ? "" : nil }
        var i = range.lowerBound
        let end = range.upperBound
        var hostEnd: Int
        if p[i] == UInt8(ascii: "[") {
            i += 1
            var colons = 0
            while i < end, p[i] != UInt8(ascii: "]") {
                let c = p[i]
                if c == UInt8(ascii: ":") { colons += 1 } else if !(ByteClass.isHexDigit(c) || c == UInt8(ascii: ".")) { return nil }
                i += 1
            }
            guard i < end, colons >= 2, i - range.lowerBound <= 46 else { return nil }
            i += 1
            hostEnd = i
        } else {
            var previous: UInt8 = UInt8(ascii: ".")  // refuses a leading dot
            while i < end, p[i] != UInt8(ascii: ":") {
                let c = p[i]
                let ok = ByteClass.isDigit(c) || (ByteClass.lower(c) &- 97) < 26 || c == UInt8(ascii: "-")
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "~") || c == UInt8(ascii: ".")
                if !ok { return nil }
                if c == UInt8(ascii: "."), previous == UInt8(ascii: ".") { return nil }
                previous = c
                i += 1
            }
            hostEnd = i
            if hostEnd == range.lowerBound { return nil }
        }
        if i < end {
            guard p[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            let digits = end - i
            if digits > 5 || (digits == 0 && requirePort) { return nil }
            var port = 0
            while i < end {
                guard ByteClass.isDigit(p[i]) else { return nil }
                port = port * 10 + Int(p[i] &- 48)
                i += 1
            }
            if port > 65535 { return nil }
        } else if requirePort {
            return nil
        }
        // One trailing dot names the same host ("example.com." == "example.com").
        if hostEnd - range.lowerBound > 1, p[hostEnd - 1] == UInt8(ascii: "."), p[range.lowerBound] != UInt8(ascii: "[") {
            hostEnd -= 1
        }
        if hostEnd - range.lowerBound > maxHostLength { return nil }
        var needsLowering = false
        for j in range.lowerBound..<hostEnd where (p[j] &- 65) < 26 { needsLowering = true; break }
        if !needsLowering { return p.string(range.lowerBound..<hostEnd) }
        return String(unsafeUninitializedCapacity: hostEnd - range.lowerBound) { out in
            var k = 0
            for j in range.lowerBound..<hostEnd { out[k] = ByteClass.lower(p[j]); k += 1 }
            return k
        }
    }
}
