import CLMDB

/// The entry count and byte total of the `entries` database, kept in `meta`
/// under "totals" and updated in the same write transaction as every put and
/// removal, so `stats()` reads them instead of scanning every record and a
/// crash can never leave them disagreeing with the records.
///
/// The record carries a stamp: the `last_commit` value written by the same
/// transaction. A build from before totals were kept commits without updating
/// them, so its `last_commit` no longer matches the stamp; such totals (and a
/// store that has none) count as absent and are recomputed once by the writer.
public struct StoreTotals: Sendable, Equatable {
    public var entries: Int
    /// The sum of the records' `size` fields.
    public var bytes: Int64

    public init(entries: Int = 0, bytes: Int64 = 0) {
        self.entries = entries
        self.bytes = bytes
    }

    static let metaKey: [UInt8] = Array("totals".utf8)
    static let lastCommitKey: [UInt8] = Array("last_commit".utf8)

    /// Counts a stored record (its raw bytes) in.
    mutating func add(_ raw: UnsafeRawBufferPointer) {
        entries += 1
        bytes &+= EntryRecordCodec.storedSize(raw)
    }

    /// Counts a stored record (its raw bytes, read before it is replaced or deleted) out.
    mutating func remove(_ raw: UnsafeRawBufferPointer) {
        entries -= 1
        bytes &-= EntryRecordCodec.storedSize(raw)
    }

    /// Counts out entries whose sizes were read before deleting them.
    mutating func remove(count: Int, bytes removed: Int64) {
        entries -= count
        bytes &-= removed
    }

    /// The encoded record: entries, bytes, stamp (little-endian u64 each).
    func encoded(stamp: UInt64) -> [UInt8] {
        CacheStore.encodeU64(UInt64(entries)) + CacheStore.encodeU64(UInt64(bitPattern: bytes)) + CacheStore.encodeU64(stamp)
    }

    /// The totals kept in `meta`, nil when there are none or they are stale
    /// (written before another build's commit) or malformed. Throws `StoreError.lmdb`.
    static func kept(_ txn: LMDBTransaction, meta: MDB_dbi) throws -> StoreTotals? {
        guard let raw = try txn.get(meta, metaKey), raw.count == 24 else { return nil }
        let stamp = try txn.get(meta, lastCommitKey).flatMap(CacheStore.decodeU64) ?? 0
        let words = (0..<3).map { CacheStore.decodeU64(UnsafeRawBufferPointer(rebasing: raw[(8 * $0)..<(8 * $0 + 8)]))! }
        guard words[2] == stamp else { return nil }
        return StoreTotals(entries: Int(words[0]), bytes: Int64(bitPattern: words[1]))
    }

    /// Writes the totals with the stamp `stamp` (the `last_commit` value this
    /// transaction leaves, 0 when it writes none). Throws `StoreError.lmdb`.
    func keep(_ txn: LMDBTransaction, meta: MDB_dbi, stamp: UInt64) throws {
        try txn.put(meta, Self.metaKey, encoded(stamp: stamp))
    }

    /// Counts every record (O(N): a store written before totals were kept, and
    /// the tests' check of the kept totals). Throws `StoreError.lmdb`.
    static func recount(_ txn: LMDBTransaction, entries dbi: MDB_dbi) throws -> StoreTotals {
        var t = StoreTotals()
        try txn.scan(dbi) { _, v in
            t.add(v)
            return true
        }
        return t
    }
}
