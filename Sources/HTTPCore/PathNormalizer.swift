/// Turns the raw path of an origin-form target into the path used for file
/// mapping: percent-decoded once, strict UTF-8, dot-segments removed
/// (RFC 3986 5.2.4) after decoding, repeated slashes merged (as on a file
/// system, so `/a//../b` is `/b`).
///
/// Refused with 400: a bad escape (`%zz`, `%2`), an encoded NUL or other
/// control byte, an encoded slash (`%2F`: no file name holds a `/`, so it can
/// only be a disguised separator), invalid or overlong UTF-8 (`%c0%ae`), and
/// any `..` that would climb above the root. A backslash (raw or `%5C`) is an
/// ordinary byte on Linux; it is kept and reported in `hasBackslash` so the
/// server can refuse it if it wishes.
public enum PathNormalizer {
    public struct Result: Sendable, Equatable {
        public var path: String
        public var hasBackslash: Bool
    }

    /// Normalises `p[range]`, which must start with `/`. `made` is a String
    /// already made of `p[made.range]` (the whole request-target): a path that
    /// needs no change and is all of it is that String, so a plain request makes one, not two.
    /// - Throws: `HTTPParseError` (400) for the inputs listed above.
    public static func normalize(_ p: UnsafeRawBufferPointer, _ range: Range<Int>,
                                 made: (range: Range<Int>, string: String)? = nil) throws -> Result {
        // Fast path: nothing to decode, no dot-segment, no empty segment.
        var simple = true
        var backslash = false
        var previous: UInt8 = 0
        for i in range {
            let c = p[i]
            if c == UInt8(ascii: "%") { simple = false; break }
            if c == UInt8(ascii: "\\") { backslash = true }
            if previous == UInt8(ascii: "/"), c == UInt8(ascii: ".") || c == UInt8(ascii: "/") { simple = false; break }
            previous = c
        }
        if simple {
            if let made, made.range == range { return Result(path: made.string, hasBackslash: backslash) }
            return Result(path: p.string(range), hasBackslash: backslash)
        }

        var decoded = [UInt8]()
        decoded.reserveCapacity(range.count)
        var i = range.lowerBound
        backslash = false
        while i < range.upperBound {
            var c = p[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < range.upperBound, let h = ByteClass.hexValue(p[i + 1]), let l = ByteClass.hexValue(p[i + 2]) else {
                    throw HTTPParseError(status: 400, reason: "invalid percent-escape in path")
                }
                c = UInt8(h << 4 | l)
                if c == 0 { throw HTTPParseError(status: 400, reason: "encoded NUL in path") }
                if c < 0x20 || c == 0x7f { throw HTTPParseError(status: 400, reason: "encoded control character in path") }
                if c == UInt8(ascii: "/") { throw HTTPParseError(status: 400, reason: "encoded slash (%2F) in path") }
                i += 3
            } else {
                i += 1
            }
            if c == UInt8(ascii: "\\") { backslash = true }
            decoded.append(c)
        }
        guard UTF8Validator.isValid(decoded) else {
            throw HTTPParseError(status: 400, reason: "path is not valid UTF-8")
        }
        let out = try removeDotSegments(decoded)
        return Result(path: String(decoding: out, as: UTF8.self), hasBackslash: backslash)
    }

    /// RFC 3986 5.2.4 over decoded bytes starting with "/", merging empty
    /// segments. - Throws: `HTTPParseError` (400) when `..` climbs above the root.
    static func removeDotSegments(_ input: [UInt8]) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(input.count)
        var starts = [Int]()  // where each kept segment starts in `out` (its slash)
        var i = 1
        var trailingSlash = false
        while i <= input.count {
            var j = i
            while j < input.count, input[j] != UInt8(ascii: "/") { j += 1 }
            let length = j - i
            let isLast = j >= input.count
            if length == 0 || (length == 1 && input[i] == UInt8(ascii: ".")) {
                trailingSlash = isLast
            } else if length == 2, input[i] == UInt8(ascii: "."), input[i + 1] == UInt8(ascii: ".") {
                guard let start = starts.popLast() else {
                    throw HTTPParseError(status: 400, reason: "path climbs above the root")
                }
                out.removeSubrange(start...)
                trailingSlash = isLast
            } else {
                starts.append(out.count)
                out.append(UInt8(ascii: "/"))
                out.append(contentsOf: input[i..<j])
                trailingSlash = false
            }
            i = j + 1
        }
        if out.isEmpty || trailingSlash { out.append(UInt8(ascii: "/")) }
        return out
    }
}
