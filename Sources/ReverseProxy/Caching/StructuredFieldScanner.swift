import HTTPCore

/// Just enough of RFC 8941 (Structured Field Values) to validate and read a
/// Dictionary of bare items with parameters, as targeted cache-control fields
/// are. Inner lists are rejected: no cache directive uses them.
struct StructuredFieldScanner {
    enum Item: Equatable {
        case integer(Int64)
        case decimal
        case string(String)
        case token
        case bytes
        case boolean(Bool)
    }

    private let bytes: [UInt8]
    private var i = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    var atEnd: Bool { i >= bytes.count }

    private var current: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func consume(_ c: UInt8) -> Bool {
        guard current == c else { return false }
        i += 1
        return true
    }

    mutating func skipSpaces() { while current == 0x20 { i += 1 } }
    mutating func skipOWS() { while current == 0x20 || current == 0x09 { i += 1 } }

    private static func isLCAlpha(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isAlpha(_ c: UInt8) -> Bool { isLCAlpha(c) || (c >= 0x41 && c <= 0x5A) }

    /// key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
    mutating func key() -> String? {
        guard let c = current, Self.isLCAlpha(c) || c == 0x2A else { return nil }
        let start = i
        i += 1
        while let c = current, Self.isLCAlpha(c) || Self.isDigit(c) || c == 0x5F || c == 0x2D || c == 0x2E || c == 0x2A { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// Parameters after an item: *( ";" *SP key [ "=" bare-item ] ); false when malformed.
    mutating func skipParameters() -> Bool {
        while consume(0x3B) {
            skipSpaces()
            guard key() != nil else { return false }
            if consume(0x3D), bareItem() == nil { return false }
        }
        return true
    }

    mutating func bareItem() -> Item? {
        guard let c = current else { return nil }
        if c == 0x2D || Self.isDigit(c) { return number() }
        if c == 0x22 { return string() }
        if c == 0x3A { return byteSequence() }
        if c == 0x3F {
            i += 1
            if consume(0x30) { return .boolean(false) }
            if consume(0x31) { return .boolean(true) }
            return nil
        }
        if Self.isAlpha(c) || c == 0x2A { return token() }
        return nil
    }

    private mutating func number() -> Item? {
        let negative = consume(0x2D)
        var digits = 0, value: Int64 = 0, fraction = -1
        while let c = current {
            if Self.isDigit(c) {
                digits += 1
                if fraction >= 0 { fraction += 1 } else { value = value * 10 + Int64(c - 0x30) }
                i += 1
            } else if c == 0x2E, fraction < 0 {
                guard digits <= 12 else { return nil }
                fraction = 0
                i += 1
            } else { break }
            if fraction < 0 && digits > 15 { return nil }
            if fraction > 3 { return nil }
        }
        if digits == 0 || fraction == 0 { return nil }
        if fraction > 0 { return .decimal }
        return .integer(negative ? -value : value)
    }

    private mutating func string() -> Item? {
        i += 1
        var out: [UInt8] = []
        while let c = current {
            i += 1
            if c == 0x5C {
                guard let n = current, n == 0x22 || n == 0x5C else { return nil }
                out.append(n)
                i += 1
            } else if c == 0x22 {
                return .string(String(decoding: out, as: UTF8.self))
            } else if c < 0x20 || c > 0x7E {
                return nil
            } else {
                out.append(c)
            }
        }
        return nil
    }

    private mutating func byteSequence() -> Item? {
        i += 1
        while let c = current {
            i += 1
            if c == 0x3A { return .bytes }
            guard Self.isAlpha(c) || Self.isDigit(c) || c == 0x2B || c == 0x2F || c == 0x3D else { return nil }
        }
        return nil
    }

    private mutating func token() -> Item? {
        // sf-token characters after the first: tchar / ":" / "/".
        while let c = current, ByteClass.isToken(c) || c == 0x3A || c == 0x2F { i += 1 }
        return .token
    }
}
