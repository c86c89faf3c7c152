/// Character classes of RFC 9110/9112 as 128-bit masks, so a test is a shift
/// and an AND instead of a table load (this runs once per request byte).
public enum ByteClass {
    @usableFromInline static let cr: UInt8 = 13
    @usableFromInline static let lf: UInt8 = 10
    @usableFromInline static let sp: UInt8 = 32
    @usableFromInline static let htab: UInt8 = 9

    @inline(__always) @usableFromInline
    static func inMask(_ c: UInt8, _ lo: UInt64, _ hi: UInt64) -> Bool {
        if c < 64 { return (lo >> UInt64(c)) & 1 != 0 }
        if c < 128 { return (hi >> UInt64(c &- 64)) & 1 != 0 }
        return false
    }

    /// tchar (RFC 9110 5.6.2): method names, field names, codings.
    @inlinable @inline(__always)
    public static func isToken(_ c: UInt8) -> Bool { inMask(c, 0x03ff_6cfa_0000_0000, 0x57ff_ffff_c7ff_fffe) }

    /// Bytes accepted in a request-target: VCHAR except '#' (a fragment is never sent).
    @inline(__always) @usableFromInline
    static func isTargetByte(_ c: UInt8) -> Bool { inMask(c, 0xffff_fff6_0000_0000, 0x7fff_ffff_ffff_ffff) }

    @inline(__always) @usableFromInline
    static func isHexDigit(_ c: UInt8) -> Bool { inMask(c, 0x03ff_0000_0000_0000, 0x7e_0000_007e) }

    @inline(__always) @usableFromInline
    static func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }

    /// field-vchar / SP / HTAB / obs-text (RFC 9110 5.5): anything but CTLs other than HTAB.
    @inlinable @inline(__always)
    public static func isFieldValueByte(_ c: UInt8) -> Bool { c >= 0x20 ? c != 0x7f : c == htab }

    /// Index of the first byte at or after `i` that is a CTL, DEL or (with
    /// `stopAtSpace`) SP, `#` or non-ASCII, stepping 8 bytes at a time; the caller's byte
    /// loop then classifies it. Bit tricks from "Bit Twiddling Hacks" (hasless/haszero).
    /// A flag can be false only above a true one (a borrow runs upwards), so the
    /// lowest flag is the first stop byte: returned at once, the byte loop does not
    /// walk the plain bytes before it (up to seven a field line and the target).
    @inline(__always)
    static func skipPlain(_ p: UnsafeRawBufferPointer, from start: Int, targetBytes: Bool) -> Int {
        var i = start
        let n = p.count
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= n {
            // Little-endian: the first byte is the lowest (a no-op on x86-64 and arm64).
            let w = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let del = w ^ (0x7f &* ones)
            var stop = ((w &- (targetBytes ? 0x21 : 0x20) &* ones) & ~w & highs) | ((del &- ones) & ~del & highs)
            if targetBytes {
                let hash = w ^ (0x23 &* ones)
                stop |= (w & highs) | ((hash &- ones) & ~hash & highs)
            }
            if stop != 0 { return i + stop.trailingZeroBitCount >> 3 }
            i += 8
        }
        return i
    }

    @inline(__always) @usableFromInline
    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c &- 48)
        case 97...102: return Int(c &- 87)
        case 65...70: return Int(c &- 55)
        default: return nil
        }
    }

    @inline(__always) @usableFromInline
    static func lower(_ c: UInt8) -> UInt8 { (c &- 65) < 26 ? c | 0x20 : c }

    /// Whether the `count` bytes at `a` and `b` are equal, compared eight (or
    /// four) at a time with overlapping loads: header names are 4 to 20 bytes,
    /// where a byte loop costs ~6 instructions a byte and a memcmp call more.
    @inlinable @inline(__always)
    public static func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count n: Int) -> Bool {
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            return a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        var i = 0
        while i < n {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }
}

extension UnsafeRawBufferPointer {
    /// ASCII case-insensitive comparison of `self[range]` with a lowercase literal.
    @inline(__always)
    func equalsLowercase(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        var i = 0
        for j in range {
            if ByteClass.lower(self[j]) != lit[i] { return false }
            i += 1
        }
        return true
    }

    /// The bytes in `range` as a String (invalid UTF-8 is replaced, never trapped on).
    /// Up to 15 bytes (a request's path and host, most header values: a string
    /// held in place, no storage) they are copied in first and then checked,
    /// which for ASCII is one test of two words, where String(decoding:)
    /// validated and copied them byte by byte (~180 instructions a string, ~95
    /// now; bytes that are not ASCII are repaired as String(decoding:) does).
    /// Longer ones keep String(decoding:): that way allocates, validates and
    /// sets the storage's flags in fewer instructions.
    @inline(__always)
    func string(_ range: Range<Int>) -> String {
        let bytes = UnsafeRawBufferPointer(rebasing: self[range])
        guard bytes.count <= 15 else { return String(decoding: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: bytes.count) {
            UnsafeMutableRawBufferPointer($0).copyMemory(from: bytes)
            return bytes.count
        }
    }
}
