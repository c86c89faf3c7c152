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
        hostRange(p, range, allowEmpty: allowEmpty, requirePort: requirePort).map { string(p, $0) }
    }

    /// Where the host lies in a valid authority (no port, no trailing dot;
    /// empty for an allowed empty authority) and whether it has capitals to
    /// lower, or nil when it is invalid.
    static func hostRange(_ p: UnsafeRawBufferPointer, _ range: Range<Int>,
                          allowEmpty: Bool, requirePort: Bool) -> Span? {
        if range.isEmpty { return allowEmpty && !requirePort ? Span(range: range, hasCapitals: false) : nil }
        var capitals = false
        var i = range.lowerBound
        let end = range.upperBound
        var hostEnd: Int
        if p[i] == UInt8(ascii: "[") {
            i += 1
            var colons = 0
            while i < end, p[i] != UInt8(ascii: "]") {
                let c = p[i]
                if c == UInt8(ascii: ":") { colons += 1 } else if !(ByteClass.isHexDigit(c) || c == UInt8(ascii: ".")) { return nil }
                if (c &- 65) < 26 { capitals = true }
                i += 1
            }
            guard i < end, colons >= 2, i - range.lowerBound <= 46 else { return nil }
            i += 1
            hostEnd = i
        } else {
            var afterDot = true  // refuses a leading dot
            while i < end {
                let c = p[i]
                // Lowercase letters, digits and `-` first: nearly every byte of a host.
                if (c &- 97) < 26 || (c &- 48) < 10 || c == UInt8(ascii: "-") {
                    afterDot = false
                } else if c == UInt8(ascii: ".") {
                    if afterDot { return nil }  // an empty label
                    afterDot = true
                } else if c == UInt8(ascii: ":") {
                    break
                } else if (c &- 65) < 26 || c == UInt8(ascii: "_") || c == UInt8(ascii: "~") {
                    if c <= UInt8(ascii: "Z") { capitals = true }
                    afterDot = false
                } else {
                    return nil
                }
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
        return Span(range: range.lowerBound..<hostEnd, hasCapitals: capitals)
    }

    struct Span {
        var range: Range<Int>
        var hasCapitals: Bool
        var isEmpty: Bool { range.isEmpty }
    }

    /// The host in `p[span]` lowercased. `made` is a String already made of
    /// `p[made.range]` (the Host field's value): returned as it is when it is
    /// the same bytes and needs no lowering, so a request makes one String, not two.
    static func string(_ p: UnsafeRawBufferPointer, _ span: Span, made: (range: Range<Int>, string: String)? = nil) -> String {
        let r = span.range
        if !span.hasCapitals {
            if let made, made.range == r { return made.string }
            return p.string(r)
        }
        return String(unsafeUninitializedCapacity: r.count) { out in
            var k = 0
            for j in r { out[k] = ByteClass.lower(p[j]); k += 1 }
            return k
        }
    }
}
