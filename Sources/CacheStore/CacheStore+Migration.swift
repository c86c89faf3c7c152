import CLMDB
import Foundation

/// The store's schema: checked at open, and schema 1 migrated to 2. Format-1
/// records (about 100 bytes plus the key, stored twice, and the strings) are
/// rewritten in format 2 (`EntryRecordCodec`). Readers read both formats, so
/// the writer migrates in chunks of its own transactions while the server
/// serves, and a crash midway only leaves work for the next start;
/// schema_version becomes 2 with the last chunk. Sizes and counts do not
/// change, so the kept totals stay valid.
extension CacheStore {
    static let schemaKey: [UInt8] = Array("schema_version".utf8)
    /// Records rewritten per write transaction (bounded dirty pages).
    static let migrationChunk = 5_000

    /// Accepts schema 2 and 1 (migrated by the writer), records the version of
    /// a new store. Throws `StoreError.schemaMismatch` for any other.
    func checkSchema() throws {
        guard env.hasDatabases else { return }
        let found: UInt32? = try env.read { txn in
            try txn.get(env.meta, Array("schema_version".utf8)).map { Self.decodeU64($0).map(UInt32.init) ?? 0 }
        }
        if let found {
            if found != Self.schemaVersion && found != 1 {
                throw StoreError.schemaMismatch(found: found, expected: Self.schemaVersion, path: directory)
            }
        } else if !options.readOnly {
            let now = Self.wallNanos()
            try env.write { txn in
                // Records without a schema version are older still: format 1, migrated by the writer.
                let version = try txn.count(env.entries) == 0 ? Self.schemaVersion : 1
                try txn.put(env.meta, Self.schemaKey, Self.encodeU64(UInt64(version)))
                try txn.put(env.meta, Array("created_at".utf8), Self.encodeU64(UInt64(now)))
                // A store with no records yet, or one written before a schema
                // version was recorded (recounted by the writer then).
                if try txn.count(env.entries) == 0 { try StoreTotals().keep(txn, meta: env.meta, stamp: 0) }
            }
        }
    }

    /// At the writer's start: migrates a schema-1 store. A failure is logged;
    /// the store stays readable and the next start tries again.
    func migrateIfNeeded() {
        withOpenEnvironment { e in
            do {
                let version = try e.read { txn in try txn.get(e.meta, Self.schemaKey).flatMap(Self.decodeU64) }
                guard version == 1 else { return }
                let start = ContinuousClock.now
                let before = e.info()
                var rewritten = 0, resume: [UInt8]? = nil
                repeat {
                    try e.write { txn in
                        let (done, last) = try migrateChunk(txn, e, after: resume)
                        rewritten += done
                        resume = last
                        if last == nil { try txn.put(e.meta, Self.schemaKey, Self.encodeU64(2)) }
                    }
                } while resume != nil
                let after = e.info()
                log("cache store \(directory): migrated from schema 1 to 2: \(rewritten) records rewritten in the compact format in \(start.duration(to: .now)) (map in use \((before.lastPage + 1) * before.pageSize) -> \((after.lastPage + 1) * after.pageSize) bytes; freed pages are reused)")
            } catch {
                warn("cache store \(directory): migrating from schema 1 to 2 failed: \(error); its records stay readable, the next start tries again")
            }
        }
    }

    /// Rewrites up to `migrationChunk` format-1 records after the LMDB key
    /// `after` (from the first when nil). Returns how many, and the key to
    /// resume after (nil: the end was reached). A damaged record is left as it
    /// is, for readers to report. Throws `StoreError.lmdb`.
    private func migrateChunk(_ txn: LMDBTransaction, _ e: LMDBEnvironment,
                              after: [UInt8]?) throws -> (rewritten: Int, resume: [UInt8]?) {
        var chunk: [([UInt8], [UInt8])] = [], visited = 0, last: [UInt8]? = nil
        try txn.scan(e.entries, from: after ?? []) { k, v in
            if let after, k.elementsEqual(after) { return true }
            visited += 1
            last = Array(k)
            if v.first == EntryRecordFormat1.format, EntryRecordCodec.isIntact(v),
               let r = try? EntryRecordCodec.decode(v, storedKey: String(decoding: k, as: UTF8.self)) {
                chunk.append((Array(k), EntryRecordCodec.encode(r)))
            }
            return visited < Self.migrationChunk
        }
        for (k, v) in chunk { try txn.put(e.entries, k, v) }
        return (chunk.count, visited < Self.migrationChunk ? nil : last)
    }
}
