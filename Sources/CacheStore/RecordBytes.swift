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

/// CRC-32 (IEEE), slicing-by-8 (eight bytes a step through eight tables:
/// byte by byte it was 8.5% of the proxy index's load, a check of every record).
enum CRC32 {
    /// Table k (at k * 256) gives the CRC of a byte followed by k zero bytes; table 0 is the classic one.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) { return crc }
        return checksum(UnsafeRawBufferPointer(start: nil, count: 0), rest: bytes)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        checksum(bytes, rest: EmptyCollection<UInt8>())
    }

    /// The CRC of `bytes` then `rest` (the latter byte by byte).
    private static func checksum<C: Collection>(_ bytes: UnsafeRawBufferPointer, rest: C) -> UInt32 where C.Element == UInt8 {
        tables.withUnsafeBufferPointer { t in
            var c: UInt32 = 0xFFFF_FFFF
            var i = 0
            let n = bytes.count
            while n - i >= 8 {
                let lo = c ^ UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                let hi = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
            for b in rest { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
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
