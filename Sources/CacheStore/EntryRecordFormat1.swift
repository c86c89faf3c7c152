/// Record format 1 (store schema 1): a format byte, the kind, nine fixed
/// little-endian u64 fields, five fields with 4-byte lengths (the key included,
/// though it is also the LMDB key), a CRC-32. About 100 bytes plus the key and
/// the strings. Still read (a schema-1 store is migrated record by record, see
/// `CacheStore+Migration`); written only by tests that build such a store.
enum EntryRecordFormat1 {
    static let format: UInt8 = 1
    /// Format, kind, the nine u64 and the CRC.
    static let minimumCount = 2 + 9 * 8 + 4
    /// Offsets of `size` and of the touched fields (last access, count, state, sequence).
    static let sizeOffset = 18, touchOffset = 42, keyOffset = 2 + 9 * 8

    static func encode(_ r: EntryRecord) -> [UInt8] {
        var out: [UInt8] = [format, r.kind.rawValue]
        for v in [r.device, r.inode, UInt64(bitPattern: r.size), UInt64(bitPattern: r.mtimeNanos),
                  UInt64(bitPattern: r.insertedAtNanos), UInt64(bitPattern: r.lastAccessNanos),
                  r.accessCount, r.policyState, r.policySequence] {
            RecordWriter.appendLE(&out, v)
        }
        for b in [Array(r.key.utf8), Array(r.originPath.utf8), Array(r.contentType.utf8), Array(r.etag.utf8), r.extra] {
            RecordWriter.appendLE32(&out, UInt32(b.count))
            out.append(contentsOf: b)
        }
        RecordWriter.seal(&out)
        return out
    }

    /// Decodes the body (checksum already checked, CRC cut off). Throws what `fail` makes.
    static func decode(_ body: UnsafeRawBufferPointer, fail: (String) -> StoreError) throws -> EntryRecord {
        var r = RecordReader(bytes: body, at: 1)
        guard let kindByte = r.u8(), let kind = EntryKind(rawValue: kindByte) else { throw fail("unknown entry kind") }
        guard body.count >= 2 + 9 * 8 else { throw fail("truncated") }
        let n = (0..<9).map { _ in r.u64()! }
        var strings: [String] = []
        for _ in 0..<4 {
            guard let b = r.field32(), let s = String(validating: b, as: UTF8.self) else { throw fail("bad string field") }
            strings.append(s)
        }
        guard let extra = r.field32(), r.atEnd else { throw fail("bad trailing field") }
        return EntryRecord(key: strings[0], kind: kind, originPath: strings[1], device: n[0], inode: n[1],
                           size: Int64(bitPattern: n[2]), mtimeNanos: Int64(bitPattern: n[3]), contentType: strings[2],
                           etag: strings[3], insertedAtNanos: Int64(bitPattern: n[4]), lastAccessNanos: Int64(bitPattern: n[5]),
                           accessCount: n[6], policyState: n[7], policySequence: n[8], extra: Array(extra))
    }

    /// The key field, read without checking the checksum; nil when out of bounds.
    static func key(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var r = RecordReader(bytes: bytes, at: keyOffset)
        return r.field32()
    }
}
