/// The binary encoding of `EntryRecord`: a format byte, fixed-width
/// little-endian fields, length-prefixed strings, and a CRC-32 of all before it.
/// Format 2 is format 1 plus, after `extra`, the soft-purge time (u64) and the
/// tags (u32 count, length-prefixed strings). A record with neither is still
/// written as format 1, so an older build reads every record it can use.
enum EntryRecordCodec {
    /// Bump when the layout changes; decoding another format is an error.
    static let format: UInt8 = 1
    /// Format 1 plus soft purge and tags.
    static let taggedFormat: UInt8 = 2

    static func isKnownFormat(_ b: UInt8) -> Bool { b == format || b == taggedFormat }

    static func encode(_ r: EntryRecord) -> [UInt8] {
        let tagged = !r.tags.isEmpty || r.softPurgedAtNanos != 0
        var out: [UInt8] = []
        out.reserveCapacity(96 + r.key.utf8.count + r.originPath.utf8.count + r.contentType.utf8.count + r.etag.utf8.count + r.extra.count)
        out.append(tagged ? taggedFormat : format)
        out.append(r.kind.rawValue)
        for v in [r.device, r.inode, UInt64(bitPattern: r.size), UInt64(bitPattern: r.mtimeNanos),
                  UInt64(bitPattern: r.insertedAtNanos), UInt64(bitPattern: r.lastAccessNanos),
                  r.accessCount, r.policyState, r.policySequence] {
            appendLE(&out, v)
        }
        for s in [r.key, r.originPath, r.contentType, r.etag] { appendBytes(&out, Array(s.utf8)) }
        appendBytes(&out, r.extra)
        if tagged {
            appendLE(&out, UInt64(bitPattern: r.softPurgedAtNanos))
            appendLE32(&out, UInt32(r.tags.count))
            for t in r.tags { appendBytes(&out, Array(t.utf8)) }
        }
        appendLE32(&out, CRC32.checksum(out[...]))
        return out
    }

    /// Decodes a record stored under `storedKey`. Throws `StoreError.corruptRecord`
    /// naming the key for another format, a bad checksum or a short record.
    static func decode(_ bytes: UnsafeRawBufferPointer, storedKey: String) throws -> EntryRecord {
        func fail(_ why: String) -> StoreError { .corruptRecord(key: storedKey, reason: why) }
        guard bytes.count >= 1 + 4 else { throw fail("only \(bytes.count) bytes") }
        guard isKnownFormat(bytes[0]) else { throw fail("record format \(bytes[0]), this build reads \(format) and \(taggedFormat)") }
        let body = bytes.count - 4
        var crc: UInt32 = 0
        for i in 0..<4 { crc |= UInt32(bytes[body + i]) << (8 * i) }
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<body])) == crc else { throw fail("checksum mismatch") }
        var r = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<body]), at: 1)
        guard let kindByte = r.u8(), let kind = EntryKind(rawValue: kindByte) else { throw fail("unknown entry kind") }
        guard body >= 2 + 9 * 8 else { throw fail("truncated") }
        let n = (0..<9).map { _ in r.u64()! }
        var strings: [String] = []
        for _ in 0..<4 {
            guard let b = r.field(), let s = String(validating: b, as: UTF8.self) else { throw fail("bad string field") }
            strings.append(s)
        }
        guard let extra = r.field() else { throw fail("bad trailing field") }
        var softPurged: Int64 = 0
        var tags: [String] = []
        if bytes[0] == taggedFormat {
            guard let purged = r.u64(), let tagged = r.strings() else { throw fail("bad tags") }
            softPurged = Int64(bitPattern: purged)
            tags = tagged
        }
        guard r.atEnd else { throw fail("bad trailing field") }
        return EntryRecord(key: strings[0], kind: kind, originPath: strings[1], device: n[0], inode: n[1],
                           size: Int64(bitPattern: n[2]), mtimeNanos: Int64(bitPattern: n[3]), contentType: strings[2],
                           etag: strings[3], insertedAtNanos: Int64(bitPattern: n[4]), lastAccessNanos: Int64(bitPattern: n[5]),
                           accessCount: n[6], policyState: n[7], policySequence: n[8], extra: extra,
                           tags: tags, softPurgedAtNanos: softPurged)
    }

    /// The tags of an encoded record, read without checking its checksum (the
    /// tag index is kept from them); empty for a format-1 or unreadable record.
    static func tags(of bytes: UnsafeRawBufferPointer) -> [String] {
        guard var r = tagList(bytes) else { return [] }
        return r.strings() ?? []
    }

    /// Whether the encoded record carries `tag` (its UTF-8 bytes), compared
    /// in place: a purge by tag checks each indexed entry without decoding it.
    static func carries(_ bytes: UnsafeRawBufferPointer, tag: [UInt8]) -> Bool {
        guard var r = tagList(bytes), let n = r.u32() else { return false }
        for _ in 0..<n {
            guard let t = r.fieldSlice() else { return false }
            if t.elementsEqual(tag) { return true }
        }
        return false
    }

    /// A reader at the tag count of a format-2 record, nil for another format.
    private static func tagList(_ bytes: UnsafeRawBufferPointer) -> Reader? {
        guard bytes.count >= 2 + 9 * 8 + 4, bytes[0] == taggedFormat else { return nil }
        var r = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)]), at: 2 + 9 * 8)
        for _ in 0..<5 { guard r.fieldSlice() != nil else { return nil } }
        guard r.u64() != nil else { return nil }
        return r
    }

    /// True when the record has this format and its checksum matches.
    static func isIntact(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 2 + 9 * 8 + 4, isKnownFormat(bytes[0]) else { return false }
        let body = bytes.count - 4
        var crc: UInt32 = 0
        for i in 0..<4 { crc |= UInt32(bytes[body + i]) << (8 * i) }
        return CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<body])) == crc
    }

    /// The `size` field of an encoded record, read at its fixed offset (format,
    /// kind, device, inode, size) without decoding; 0 for a record too short to
    /// hold it. The one definition of a record's bytes for the store's totals.
    static func storedSize(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        guard bytes.count >= 2 + 3 * 8 else { return 0 }
        return Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[18 + $1]) << (8 * $1) })
    }

    /// The cache key of an encoded record, read without decoding the rest or
    /// checking the checksum (a prefix scan's filter over hashed long keys);
    /// nil when the record is too short or not this format.
    static func key(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard bytes.count >= 2 + 9 * 8 + 4 + 4, isKnownFormat(bytes[0]) else { return nil }
        var r = Reader(bytes: bytes, at: 2 + 9 * 8)
        return r.fieldSlice()
    }

    /// Rewrites the access fields of an encoded record in place (touches skip a full decode).
    static func applyTouch(_ bytes: inout [UInt8], hits: UInt64, lastAccessNanos: Int64, policyState: UInt64, policySequence: UInt64) {
        // Offsets: format(1) kind(1) then nine u64; lastAccess is #5, count #6, state #7, seq #8.
        func at(_ i: Int) -> Int { 2 + 8 * i }
        func read(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at(i) + $1]) << (8 * $1) } }
        func write(_ i: Int, _ v: UInt64) { for k in 0..<8 { bytes[at(i) + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        write(5, UInt64(bitPattern: max(lastAccessNanos, Int64(bitPattern: read(5)))))
        write(6, read(6) &+ hits)
        write(7, policyState)
        write(8, policySequence)
        let body = bytes.count - 4
        let crc = CRC32.checksum(bytes[0..<body])
        for k in 0..<4 { bytes[body + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
    }

    private static func appendLE(_ out: inout [UInt8], _ v: UInt64) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    private static func appendLE32(_ out: inout [UInt8], _ v: UInt32) {
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    private static func appendBytes(_ out: inout [UInt8], _ b: [UInt8]) {
        appendLE32(&out, UInt32(b.count))
        out.append(contentsOf: b)
    }

    /// A bounds-checked little-endian reader.
    private struct Reader {
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

        mutating func field() -> [UInt8]? { fieldSlice().map(Array.init) }

        mutating func u32() -> Int? {
            guard bytes.count - at >= 4 else { return nil }
            var n = 0
            for k in 0..<4 { n |= Int(bytes[at + k]) << (8 * k) }
            at += 4
            return n
        }

        /// A u32 count and that many length-prefixed UTF-8 strings.
        mutating func strings() -> [String]? {
            guard let n = u32() else { return nil }
            // Each string takes at least its 4-byte length: a bad count cannot allocate much.
            guard n <= (bytes.count - at) / 4 else { return nil }
            var out: [String] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                guard let b = fieldSlice(), let s = String(validating: b, as: UTF8.self) else { return nil }
                out.append(s)
            }
            return out
        }

        /// A length-prefixed field, as a view into `bytes`.
        mutating func fieldSlice() -> UnsafeRawBufferPointer? {
            guard bytes.count - at >= 4 else { return nil }
            var n = 0
            for k in 0..<4 { n |= Int(bytes[at + k]) << (8 * k) }
            guard bytes.count - at - 4 >= n else { return nil }
            at += 4
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
        }
    }
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
}
