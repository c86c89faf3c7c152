import CLMDB
import Foundation

/// Reads: short read transactions on any thread, never waiting for the writer.
/// None scans the whole store except `entries()`/`forEachEntry` without a prefix.
extension CacheStore {
    func reading<T>(_ body: (LMDBTransaction, LMDBEnvironment) throws -> T) throws -> T {
        envLock.readLock()
        defer { envLock.unlock() }
        guard env.env != nil else { throw StoreError.closed(path: directory) }
        let e = env
        return try e.read { try body($0, e) }
    }

    /// The record for `key`, nil when absent. Throws `StoreError.corruptRecord` naming the key.
    public func get(_ key: String) throws -> EntryRecord? {
        guard env.hasDatabases else { return nil }
        return try reading { txn, e in
            guard let raw = try txn.get(e.entries, StoreKey.lmdbKey(key)) else { return nil }
            let r = try EntryRecordCodec.decode(raw, storedKey: key)
            return r.key == key ? r : nil // a hash collision reads as absent
        }
    }

    /// Every record, or those whose key starts with `prefix`, in key order.
    /// Throws `StoreError.corruptRecord` for the first record that cannot be decoded.
    public func entries(prefix: String? = nil) throws -> [EntryRecord] {
        var out: [EntryRecord] = []
        try forEachEntry(prefix: prefix) { out.append(try $0.get()); return true }
        return out.sorted { $0.key < $1.key }
    }

    /// Calls `body` with each record's decode result (so one damaged record does
    /// not hide the others) until it returns false. With a prefix, the read
    /// seeks to it and visits only its records and those of keys over 511 bytes
    /// (`LMDBTransaction.scanPrefix`); only the records passed are decoded.
    /// With `kind`, records of other kinds are skipped before decoding (read
    /// from their kind byte): the compression sweep at start reads its few
    /// variants without decoding a million file records beside the index load.
    public func forEachEntry(prefix: String? = nil, kind: EntryKind? = nil,
                             _ body: (Result<EntryRecord, Error>) throws -> Bool) throws {
        guard env.hasDatabases else { return }
        let p = prefix.map { Array($0.utf8) } ?? []
        let visited = try reading { txn, e in
            try txn.scanPrefix(e.entries, p) { k, v in
                if let kind, let k = EntryRecordCodec.kind(of: v), k != kind { return true }
                return try body(Result { try EntryRecordCodec.decode(v, storedKey: String(decoding: k, as: UTF8.self)) })
            }
        }
        recordsVisited.add(visited, ordering: .relaxed)
    }

    /// The cache keys of the records of `kind` whose key starts with `prefix`,
    /// read without decoding the records (the LMDB key, or the key a hashed
    /// record keeps): a purge by prefix reads 100,000 keys this way in tens of
    /// milliseconds, decoding them took about a second. A record too damaged to
    /// say its kind or key is left out. Throws `StoreError.lmdb`.
    public func keys(prefix: String, kind: EntryKind) throws -> [String] {
        guard env.hasDatabases else { return [] }
        var out: [String] = []
        let visited = try reading { txn, e in
            try txn.scanPrefix(e.entries, Array(prefix.utf8)) { k, v in
                guard EntryRecordCodec.kind(of: v) == kind else { return true }
                if StoreKey.isHashed(k) {
                    if let key = EntryRecordCodec.key(of: v) { out.append(String(decoding: key, as: UTF8.self)) }
                } else {
                    out.append(String(decoding: k, as: UTF8.self))
                }
                return true
            }
        }
        recordsVisited.add(visited, ordering: .relaxed)
        return out
    }

    /// The `count` records with the most hits, most first (ties: the first in
    /// LMDB key order). One pass reading each record's access count at its fixed
    /// offset; only the leaders are decoded (decoding a million records took
    /// seconds). Throws `StoreError.corruptRecord` for a leader that cannot be decoded.
    public func mostHit(_ count: Int) throws -> [EntryRecord] {
        guard count > 0, env.hasDatabases else { return [] }
        var best: [(hits: UInt64, key: [UInt8], value: [UInt8])] = []
        let visited = try reading { txn, e in
            try txn.scanPrefix(e.entries, []) { k, v in
                let hits: UInt64
                if v.count >= EntryRecordCodec.touchOffset + 16, v[0] == EntryRecordCodec.format {
                    hits = UInt64(littleEndian: v.loadUnaligned(fromByteOffset: EntryRecordCodec.touchOffset + 8, as: UInt64.self))
                } else {
                    hits = (try? EntryRecordCodec.decode(v, storedKey: String(decoding: k, as: UTF8.self)).accessCount) ?? 0
                }
                if best.count == count, let last = best.last, hits <= last.hits { return true }
                let at = best.firstIndex { $0.hits < hits } ?? best.count
                best.insert((hits, Array(k), Array(v)), at: at)
                if best.count > count { best.removeLast() }
                return true
            }
        }
        recordsVisited.add(visited, ordering: .relaxed)
        return try best.map { b in
            try b.value.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: String(decoding: b.key, as: UTF8.self)) }
        }
    }

    /// A persistent counter's value (0 when never written).
    public func counter(_ name: String) throws -> UInt64 {
        try metaValue("counter:\(name)").flatMap { b in b.withUnsafeBytes { Self.decodeU64($0) } } ?? 0
    }

    /// A value set with `.setMeta`, nil when absent.
    public func meta(_ name: String) throws -> [UInt8]? { try metaValue("user:\(name)") }

    private func metaValue(_ key: String) throws -> [UInt8]? {
        guard env.hasDatabases else { return nil }
        return try reading { txn, e in try txn.get(e.meta, Array(key.utf8)).map { Array($0) } }
    }

    /// Counts, sizes and the environment's state. O(1): the byte total is the
    /// one kept with the records (`StoreTotals`); only a store no writer of
    /// this build has opened yet (read-only, from an older build) is counted.
    public func stats() throws -> StoreStats {
        let i = env.info()
        var s = StoreStats(entries: 0, bytes: 0, mapSize: i.mapSize, mapUsed: (i.lastPage + 1) * i.pageSize, pageSize: i.pageSize,
                           branchPages: 0, leafPages: 0, overflowPages: 0, depth: 0, readers: i.readers, maxReaders: i.maxReaders,
                           lastCommitNanos: 0, createdNanos: 0, schemaVersion: Self.schemaVersion)
        guard env.hasDatabases else { return s }
        try reading { txn, e in
            s.entries = try txn.count(e.entries)
            (s.branchPages, s.leafPages, s.overflowPages, s.depth) = try txn.pages(e.entries)
            s.lastCommitNanos = Int64(try txn.get(e.meta, StoreTotals.lastCommitKey).flatMap(Self.decodeU64) ?? 0)
            s.createdNanos = Int64(try txn.get(e.meta, Array("created_at".utf8)).flatMap(Self.decodeU64) ?? 0)
            s.schemaVersion = UInt32(try txn.get(e.meta, Array("schema_version".utf8)).flatMap(Self.decodeU64) ?? 0)
            s.bytes = try (StoreTotals.kept(txn, meta: e.meta) ?? StoreTotals.recount(txn, entries: e.entries)).bytes
        }
        return s
    }

    /// The totals kept with the records, nil when the store has none yet (or
    /// stale ones: see `StoreTotals`). Throws `StoreError.lmdb`.
    public func keptTotals() throws -> StoreTotals? {
        guard env.hasDatabases else { return StoreTotals() }
        return try reading { txn, e in try StoreTotals.kept(txn, meta: e.meta) }
    }

    /// The kept totals (nil when none yet) and the totals counted over every
    /// record, read in one transaction (a writer may commit meanwhile): O(N),
    /// for checking them (`cachedump verify`). Throws `StoreError.lmdb`.
    public func keptAndCountedTotals() throws -> (kept: StoreTotals?, counted: StoreTotals) {
        guard env.hasDatabases else { return (StoreTotals(), StoreTotals()) }
        return try reading { txn, e in (try StoreTotals.kept(txn, meta: e.meta), try StoreTotals.recount(txn, entries: e.entries)) }
    }

    /// The totals counted over every record (O(N): for checking the kept ones). Throws `StoreError.lmdb`.
    public func countTotals() throws -> StoreTotals {
        guard env.hasDatabases else { return StoreTotals() }
        return try reading { txn, e in try StoreTotals.recount(txn, entries: e.entries) }
    }
}
