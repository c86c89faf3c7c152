import CapuchinSystem

/// The binary encoding of `EntryRecord`. Format 2 (store schema 2), what this
/// build writes, is compact (issue 16: about 50 bytes plus the etag, the extra and
/// the origin path less what it shares with the key):
///
///     format (2) | kind, 0x80 when the key is stored | size i64
///     | last access i64 | access count u64 | policy state u64 | policy sequence u64
///     | varints: device, inode, zigzag mtime, zigzag inserted-at
///     | [key, when stored] (varint length) | origin path | content type | [etag, unless derived] | extra (varint length each)
///     | [when tagged: zigzag soft-purge time, tag count, tags (varint length each)]
///     | CRC-32 of everything before it
///
/// The key is stored only when it is not the LMDB key itself (keys over 511
/// bytes, stored under a hash: `StoreKey`); otherwise the reader supplies it.
/// The origin path is stored as a literal head (varint length) and how many
/// of the key's last bytes follow it: "site/a/b.html" from "/srv/www/a/b.html"
/// keeps "/srv/www" and 9. The content type is a varint: odd, an index into
/// `commonContentTypes` (so 1 byte for the usual ones); even, twice the length
/// of the literal that follows.
/// The etag is left out (0x20 in the kind byte) when it is the one
/// `FileEntityTag` derives from the record's inode, size and mtime (every
/// file entry's: ~30 bytes a record); the reader derives it again.
/// `size` and the four touched fields sit at fixed offsets: the totals read
/// the size and touches rewrite the access fields without decoding.
/// Format 1 records (`EntryRecordFormat1`) are still read.
enum EntryRecordCodec {
    /// The format this build writes; decoding a format other than 1 or 2 is an error.
    static let format: UInt8 = 2
    static let keyStored: UInt8 = 0x80
    /// In the kind byte: soft-purge time and tags follow `extra` (issue 14's cache tags).
    static let tagged: UInt8 = 0x40
    /// In the kind byte: the etag is `derivedEtag(of:)`, not stored.
    static let etagDerived: UInt8 = 0x20
    static let sizeOffset = 2, touchOffset = 10, varintOffset = 42
    /// The fixed part, four 1-byte varints, the path's two, the content type's, two lengths, the CRC.
    static let minimumCount = 42 + 4 + 2 + 1 + 1 + 4

    static func encode(_ r: EntryRecord) -> [UInt8] {
        let storeKey = !StoreKey.isDirect(r.key)
        var out: [UInt8] = []
        out.reserveCapacity(80 + (storeKey ? r.key.utf8.count : 0) + r.originPath.utf8.count + r.contentType.utf8.count
                            + r.etag.utf8.count + r.extra.count)
        out.append(format)
        let hasTags = !r.tags.isEmpty || r.softPurgedAtNanos != 0
        let derived = !r.etag.isEmpty && r.etag == derivedEtag(inode: r.inode, size: r.size, mtimeNanos: r.mtimeNanos)
        out.append(r.kind.rawValue | (storeKey ? keyStored : 0) | (hasTags ? tagged : 0) | (derived ? etagDerived : 0))
        for v in [UInt64(bitPattern: r.size), UInt64(bitPattern: r.lastAccessNanos), r.accessCount, r.policyState, r.policySequence] {
            RecordWriter.appendLE(&out, v)
        }
        for v in [r.device, r.inode, RecordWriter.zigzag(r.mtimeNanos), RecordWriter.zigzag(r.insertedAtNanos)] {
            RecordWriter.appendVarint(&out, v)
        }
        func appendField(_ b: [UInt8]) {
            RecordWriter.appendVarint(&out, UInt64(b.count))
            out.append(contentsOf: b)
        }
        if storeKey { appendField(Array(r.key.utf8)) }
        let path = Array(r.originPath.utf8), shared = Self.sharedSuffix(path, Array(r.key.utf8))
        appendField(Array(path.dropLast(shared)))
        RecordWriter.appendVarint(&out, UInt64(shared))
        if let i = Self.commonContentTypes.firstIndex(of: r.contentType) {
            RecordWriter.appendVarint(&out, UInt64(i) << 1 | 1)
        } else {
            let b = Array(r.contentType.utf8)
            RecordWriter.appendVarint(&out, UInt64(b.count) << 1)
            out.append(contentsOf: b)
        }
        if !derived { appendField(Array(r.etag.utf8)) }
        appendField(r.extra)
        if hasTags {
            RecordWriter.appendVarint(&out, RecordWriter.zigzag(r.softPurgedAtNanos))
            RecordWriter.appendVarint(&out, UInt64(r.tags.count))
            for t in r.tags { appendField(Array(t.utf8)) }
        }
        RecordWriter.seal(&out)
        return out
    }

    /// Decodes a record stored under `storedKey` (the cache key when it is the
    /// LMDB key). Throws `StoreError.corruptRecord` naming the key for an
    /// unknown format, a bad checksum or a short record.
    static func decode(_ bytes: UnsafeRawBufferPointer, storedKey: String) throws -> EntryRecord {
        func fail(_ why: String) -> StoreError { .corruptRecord(key: storedKey, reason: why) }
        guard bytes.count >= 1 + 4 else { throw fail("only \(bytes.count) bytes") }
        guard bytes[0] == format || bytes[0] == EntryRecordFormat1.format else {
            throw fail("record format \(bytes[0]), this build reads \(EntryRecordFormat1.format) and \(format)")
        }
        guard CRC32.sealed(bytes) else { throw fail("checksum mismatch") }
        let body = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])
        if bytes[0] == EntryRecordFormat1.format { return try EntryRecordFormat1.decode(body, fail: fail) }
        guard body.count >= varintOffset else { throw fail("truncated") }
        guard let kind = EntryKind(rawValue: body[1] & ~(keyStored | tagged | etagDerived)) else { throw fail("unknown entry kind") }
        var r = RecordReader(bytes: body, at: sizeOffset)
        let fixed = (0..<5).map { _ in r.u64()! }
        var n: [UInt64] = []
        for _ in 0..<4 {
            guard let v = r.varint() else { throw fail("truncated") }
            n.append(v)
        }
        var key = storedKey
        if body[1] & keyStored != 0 {
            guard let b = r.field(), let k = String(validating: b, as: UTF8.self) else { throw fail("bad key field") }
            key = k
        }
        guard let head = r.field(), let shared = r.varint(), shared <= UInt64(key.utf8.count),
              let path = Self.joinPath(head, key, shared: Int(shared)) else { throw fail("bad origin path") }
        let contentType: String
        guard let ct = r.varint() else { throw fail("bad content type") }
        if ct & 1 == 1 {
            guard ct >> 1 < UInt64(Self.commonContentTypes.count) else { throw fail("unknown content type \(ct >> 1)") }
            contentType = Self.commonContentTypes[Int(ct >> 1)]
        } else {
            guard ct >> 1 <= UInt64(body.count), let b = r.raw(Int(ct >> 1)), let t = String(validating: b, as: UTF8.self) else {
                throw fail("bad content type")
            }
            contentType = t
        }
        let etag: String
        if body[1] & etagDerived != 0 {
            etag = derivedEtag(inode: n[1], size: Int64(bitPattern: fixed[0]), mtimeNanos: RecordWriter.unzigzag(n[2]))
        } else {
            guard let etagBytes = r.field(), let e = String(validating: etagBytes, as: UTF8.self) else { throw fail("bad etag") }
            etag = e
        }
        guard let extra = r.field() else { throw fail("bad trailing field") }
        var softPurged: Int64 = 0
        var tags: [String] = []
        if body[1] & tagged != 0 {
            guard let purged = r.varint(), let list = Self.readTags(&r) else { throw fail("bad tags") }
            softPurged = RecordWriter.unzigzag(purged)
            tags = list
        }
        guard r.atEnd else { throw fail("bad trailing field") }
        return EntryRecord(key: key, kind: kind, originPath: path, device: n[0], inode: n[1],
                           size: Int64(bitPattern: fixed[0]), mtimeNanos: RecordWriter.unzigzag(n[2]), contentType: contentType,
                           etag: etag, insertedAtNanos: RecordWriter.unzigzag(n[3]), lastAccessNanos: Int64(bitPattern: fixed[1]),
                           accessCount: fixed[2], policyState: fixed[3], policySequence: fixed[4], extra: Array(extra),
                           tags: tags, softPurgedAtNanos: softPurged)
    }

    /// A tag count and that many tags.
    private static func readTags(_ r: inout RecordReader) -> [String]? {
        guard let n = r.varint(), n <= 4096 else { return nil }
        var out: [String] = []
        for _ in 0..<n {
            guard let b = r.field(), let t = String(validating: b, as: UTF8.self) else { return nil }
            out.append(t)
        }
        return out
    }

    /// A reader at the tag count of a tagged format-2 record, nil for any other
    /// (read without checking the checksum: the tag index is kept from it).
    private static func tagList(_ bytes: UnsafeRawBufferPointer) -> RecordReader? {
        guard bytes.count >= minimumCount, bytes[0] == format, bytes[1] & tagged != 0 else { return nil }
        var r = RecordReader(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)]), at: varintOffset)
        for _ in 0..<4 { guard r.varint() != nil else { return nil } }
        if bytes[1] & keyStored != 0 { guard r.field() != nil else { return nil } }
        guard r.field() != nil, r.varint() != nil, let ct = r.varint() else { return nil }
        if ct & 1 == 0 { guard r.raw(Int(ct >> 1)) != nil else { return nil } }
        if bytes[1] & etagDerived == 0 { guard r.field() != nil else { return nil } }
        guard r.field() != nil, r.varint() != nil else { return nil }
        return r
    }

    /// The tags of an encoded record; empty when it has none or is unreadable.
    static func tags(of bytes: UnsafeRawBufferPointer) -> [String] {
        guard var r = tagList(bytes) else { return [] }
        return readTags(&r) ?? []
    }

    /// Whether the encoded record carries `tag` (its UTF-8 bytes), compared in
    /// place: a purge by tag checks each indexed entry without decoding it.
    static func carries(_ bytes: UnsafeRawBufferPointer, tag: [UInt8]) -> Bool {
        guard var r = tagList(bytes), let n = r.varint() else { return false }
        for _ in 0..<n {
            guard let t = r.field() else { return false }
            if t.elementsEqual(tag) { return true }
        }
        return false
    }

    /// The entity tag a file of this version gets (`FileEntityTag`).
    static func derivedEtag(inode: UInt64, size: Int64, mtimeNanos: Int64) -> String {
        FileEntityTag.format(inode: inode, size: UInt64(bitPattern: size), mtimeNanos: mtimeNanos)
    }

    /// `head` followed by the last `shared` bytes of `key`; nil when not UTF-8.
    private static func joinPath(_ head: UnsafeRawBufferPointer, _ key: String, shared: Int) -> String? {
        var key = key
        return key.withUTF8 { k in
            var bytes = [UInt8](repeating: 0, count: head.count + shared)
            bytes.withUnsafeMutableBytes { out in
                out.copyMemory(from: head)
                UnsafeMutableRawBufferPointer(rebasing: out[head.count...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(k)[(k.count - shared)...]))
            }
            return String(validating: bytes, as: UTF8.self)
        }
    }

    /// How many last bytes `path` shares with `key`.
    private static func sharedSuffix(_ path: [UInt8], _ key: [UInt8]) -> Int {
        var n = 0
        while n < path.count && n < key.count && path[path.count - 1 - n] == key[key.count - 1 - n] { n += 1 }
        return n
    }

    /// Content types stored as a one-byte index (HTTPCore's MIME table and the
    /// proxy's usual ones). Part of format 2: append only, never reorder.
    static let commonContentTypes: [String] = [
        "", "application/octet-stream", "text/html; charset=utf-8", "text/css; charset=utf-8",
        "text/javascript; charset=utf-8", "application/json", "application/manifest+json", "text/plain; charset=utf-8",
        "text/markdown; charset=utf-8", "text/csv; charset=utf-8", "application/xml", "application/rss+xml",
        "application/atom+xml", "image/svg+xml", "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
        "image/x-icon", "image/bmp", "image/tiff", "application/pdf", "application/wasm", "application/zip",
        "application/gzip", "application/x-tar", "video/mp4", "video/webm", "video/ogg", "video/quicktime", "audio/mpeg",
        "audio/ogg", "audio/wav", "audio/flac", "audio/mp4", "audio/aac", "font/woff", "font/woff2", "font/ttf", "font/otf",
        "application/vnd.ms-fontobject", "application/vnd.apple.mpegurl", "video/mp2t", "application/yaml",
        "application/toml", "application/epub+zip", "text/html", "text/css", "text/plain", "application/javascript",
        "text/javascript", "application/json; charset=utf-8", "text/html; charset=UTF-8", "text/plain; charset=UTF-8",
    ]

    /// Where `size` and the touched fields are, by format; nil for an unknown one.
    private static func offsets(_ bytes: UnsafeRawBufferPointer) -> (size: Int, touch: Int, minimum: Int)? {
        guard let f = bytes.first else { return nil }
        if f == format { return (sizeOffset, touchOffset, minimumCount) }
        if f == EntryRecordFormat1.format {
            return (EntryRecordFormat1.sizeOffset, EntryRecordFormat1.touchOffset, EntryRecordFormat1.minimumCount)
        }
        return nil
    }

    /// True when the record has a known format, its fixed part, and a matching checksum.
    static func isIntact(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let o = offsets(bytes), bytes.count >= o.minimum else { return false }
        return CRC32.sealed(bytes)
    }

    /// The `size` field of an encoded record, read at its fixed offset without
    /// decoding; 0 for a record of unknown format or too short to hold it. The
    /// one definition of a record's bytes for the store's totals.
    static func storedSize(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        guard let o = offsets(bytes), bytes.count >= o.size + 8 else { return 0 }
        return Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o.size + $1]) << (8 * $1) })
    }

    /// The kind of an encoded record, read from its kind byte without decoding
    /// or checking it; nil for an unknown format or kind (decode says why).
    static func kind(of bytes: UnsafeRawBufferPointer) -> EntryKind? {
        guard bytes.count >= 2 else { return nil }
        if bytes[0] == EntryRecordFormat1.format { return EntryKind(rawValue: bytes[1]) }
        guard bytes[0] == format else { return nil }
        return EntryKind(rawValue: bytes[1] & ~(keyStored | tagged | etagDerived))
    }

    /// The cache key kept in an encoded record, read without decoding the rest
    /// or checking the checksum (a prefix scan's filter over hashed long keys);
    /// nil when the record does not keep it (its LMDB key is the key), is too
    /// short or of unknown format.
    static func key(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let f = bytes.first else { return nil }
        if f == EntryRecordFormat1.format { return EntryRecordFormat1.key(of: bytes) }
        guard f == format, bytes.count >= minimumCount, bytes[1] & keyStored != 0 else { return nil }
        var r = RecordReader(bytes: bytes, at: varintOffset)
        for _ in 0..<4 { guard r.varint() != nil else { return nil } }
        return r.field()
    }

    /// Rewrites the access fields of an intact encoded record in place (touches
    /// skip a full decode); the record keeps its format.
    static func applyTouch(_ bytes: inout [UInt8], hits: UInt64, lastAccessNanos: Int64, policyState: UInt64, policySequence: UInt64) {
        guard let base = bytes.withUnsafeBytes({ offsets($0)?.touch }) else { return }
        // Consecutive u64 from `base`: last access, count, state, sequence.
        func read(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[base + 8 * i + $1]) << (8 * $1) } }
        func write(_ i: Int, _ v: UInt64) { for k in 0..<8 { bytes[base + 8 * i + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        write(0, UInt64(bitPattern: max(lastAccessNanos, Int64(bitPattern: read(0)))))
        write(1, read(1) &+ hits)
        write(2, policyState)
        write(3, policySequence)
        let body = bytes.count - 4
        let crc = CRC32.checksum(bytes[0..<body])
        for k in 0..<4 { bytes[body + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
    }
}
