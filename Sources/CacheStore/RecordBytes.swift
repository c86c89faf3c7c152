/// Byte-level helpers of the record formats: a bounds-checked little-endian
/// reader, the writers, and the CRC-32 every record ends with.
struct RecordReader {
    let bytes: UnsafeRawBufferPointer
    var at: Int
    var atEnd: Bool { at == bytes.count }

    mutating func u8() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u64() -> UInt64? {
        guard bytes.count - at >= 8 else { return nil }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * k) }
        at += 8
        return v
    }

    /// An unsigned LEB128 number of at most 10 bytes.
    mutating func varint() -> UInt64? {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard let b = u8() else { return nil }
            v |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return v }
        }
        return nil
    }

    /// A field prefixed by a 4-byte length (format 1), as a view into `bytes`.
    mutating func field32() -> UnsafeRawBufferPointer? {
        guard bytes.count - at >= 4 else { return nil }
        var n = 0
        for k in 0..<4 { n |= Int(bytes[at + k]) << (8 * k) }
        return take(n, after: 4)
    }

    /// A field prefixed by a varint length (format 2), as a view into `bytes`.
    mutating func field() -> UnsafeRawBufferPointer? {
        let start = at
        guard let n = varint(), n <= UInt64(bytes.count) else { at = start; return nil }
        let lengthBytes = at - start
        at = start
        return take(Int(n), after: lengthBytes)
    }

    /// The next `n` bytes, as a view into `bytes`.
    mutating func raw(_ n: Int) -> UnsafeRawBufferPointer? { n < 0 ? nil : take(n, after: 0) }

    private mutating func take(_ n: Int, after lengthBytes: Int) -> UnsafeRawBufferPointer? {
        guard bytes.count - at - lengthBytes >= n else { return nil }
        at += lengthBytes
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
    }
}

enum RecordWriter {
    static func appendLE(_ out: inout [UInt8], _ v: UInt64) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    static func appendLE32(_ out: inout [UInt8], _ v: UInt32) {
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    static func appendVarint(_ out: inout [UInt8], _ v: UInt64) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Signed values (times may be negative) as small varints: zigzag.
    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    /// Ends a record with the CRC-32 of everything before it.
    static func seal(_ out: inout [UInt8]) { appendLE32(&out, CRC32.checksum(out[...])) }
}

/// CRC-32 (IEEE), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        table.withUnsafeBufferPointer { t in
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
            return c ^ 0xFFFF_FFFF
        }
    }

    /// Whether the last 4 bytes are the CRC-32 of those before them.
    static func sealed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let body = bytes.count - 4
        var crc: UInt32 = 0
        for i in 0..<4 { crc |= UInt32(bytes[body + i]) << (8 * i) }
        return checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<body])) == crc
    }
}
