/// RFC 9110 section 5 on field values held as Strings: tokens, list splitting,
/// quoted strings; shared by the response parser, the proxy's header rewriters
/// and Cache-Control parsing. Byte classes come from `ByteClass`, the one table.
public enum FieldSyntax {
    public static func isToken<S: Sequence>(_ s: S) -> Bool where S.Element == UInt8 {
        var any = false
        for c in s {
            if !ByteClass.isToken(c) { return false }
            any = true
        }
        return any
    }

    public static func isToken(_ s: String) -> Bool { isToken(s.utf8) }

    /// A value that can be written as a field value without breaking framing.
    public static func isValidFieldValue(_ s: String) -> Bool { s.utf8.allSatisfy(ByteClass.isFieldValueByte) }

    /// Removes leading and trailing SP/HTAB.
    public static func trimOWS(_ s: Substring) -> Substring {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi, s[lo] == " " || s[lo] == "\t" { lo = s.index(after: lo) }
        while hi > lo {
            let p = s.index(before: hi)
            if s[p] == " " || s[p] == "\t" { hi = p } else { break }
        }
        return s[lo..<hi]
    }

    /// Splits a comma-separated list (RFC 9110 5.6.1) across every given field
    /// value, honouring quoted strings; empty elements are dropped.
    public static func listElements(_ values: [String]) -> [Substring] {
        var out: [Substring] = []
        for value in values {
            var start = value.startIndex
            var i = value.startIndex
            var quoted = false
            while i < value.endIndex {
                let c = value[i]
                if quoted {
                    if c == "\\" {
                        let n = value.index(after: i)
                        if n < value.endIndex { i = n }
                    } else if c == "\"" {
                        quoted = false
                    }
                } else if c == "\"" {
                    quoted = true
                } else if c == "," {
                    let e = trimOWS(value[start..<i])
                    if !e.isEmpty { out.append(e) }
                    start = value.index(after: i)
                }
                i = value.index(after: i)
            }
            let e = trimOWS(value[start..<value.endIndex])
            if !e.isEmpty { out.append(e) }
        }
        return out
    }

    /// The content of a quoted-string (without quotes, escapes resolved), or
    /// the input itself when it is not quoted.
    public static func unquote(_ s: Substring) -> Substring {
        guard s.count >= 2, s.first == "\"", s.last == "\"" else { return s }
        let inner = s.dropFirst().dropLast()
        guard inner.contains("\\") else { return inner }
        var out = ""
        var escape = false
        for c in inner {
            if escape { out.append(c); escape = false } else if c == "\\" { escape = true } else { out.append(c) }
        }
        return Substring(out)
    }

    /// Whether the comma-separated list `value` has an element named `name`
    /// (ASCII case-insensitive; an element's name ends at `=` or `;`, quoted
    /// strings are skipped): `Cache-Control: no-transform`, `Connection: close`.
    /// Over the bytes in place: `lowercased().contains(...)` went through
    /// Foundation's string search, about 4,000 instructions a request.
    public static func hasListElement(_ value: String, named name: StaticString) -> Bool {
        let want = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        func scan(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
            var i = 0
            let n = v.count
            while i < n {
                while i < n, v[i] == ByteClass.sp || v[i] == ByteClass.htab || v[i] == UInt8(ascii: ",") { i += 1 }
                let start = i
                while i < n, ByteClass.isToken(v[i]) { i += 1 }
                if i - start == want.count, String.asciiCaseInsensitiveEquals(v[start..<i], want) {
                    var j = i
                    while j < n, v[j] == ByteClass.sp || v[j] == ByteClass.htab { j += 1 }
                    if j == n || v[j] == UInt8(ascii: ",") || v[j] == UInt8(ascii: "=") || v[j] == UInt8(ascii: ";") { return true }
                }
                // The rest of this element: up to a comma outside a quoted string.
                var quoted = false
                while i < n {
                    let c = v[i]
                    if quoted {
                        if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { quoted = false }
                    } else if c == UInt8(ascii: "\"") {
                        quoted = true
                    } else if c == UInt8(ascii: ",") {
                        break
                    }
                    i += 1
                }
            }
            return false
        }
        if let found = value.utf8.withContiguousStorageIfAvailable(scan) { return found }
        var copy = value
        return copy.withUTF8(scan)
    }

    /// ASCII lowercase (header names and directives are ASCII).
    public static func lowercased<S: StringProtocol>(_ s: S) -> String {
        String(decoding: s.utf8.map(ByteClass.lower), as: UTF8.self)
    }
}
