import Foundation
import XCTest
@testable import CacheStore

/// A schema-1 store (format-1 records) is migrated to schema 2 at open without losing anything.
final class StoreMigrationTests: XCTestCase {
    /// A store as a schema-1 build left it: format-1 records, schema_version 1,
    /// and (with `totals`) totals kept as a schema-1 build with them keeps them, or none.
    private func makeSchema1Store(_ dir: String, records: [EntryRecord], damaged: Bool, totals: Bool) throws {
        CacheStore.closeAfterCreating(dir)
        let env = try LMDBEnvironment(path: dir, mapSize: 64 << 20, durability: .sync, readOnly: false)
        try env.write { txn in
            for r in records { try txn.put(env.entries, StoreKey.lmdbKey(r.key), EntryRecordFormat1.encode(r)) }
            if damaged { try txn.put(env.entries, Array("damaged".utf8), [1, 2, 3]) }
            try txn.put(env.meta, CacheStore.schemaKey, CacheStore.encodeU64(1))
            if totals {
                let stamp = try txn.get(env.meta, StoreTotals.lastCommitKey).flatMap(CacheStore.decodeU64) ?? 0
                try StoreTotals.recount(txn, entries: env.entries).keep(txn, meta: env.meta, stamp: stamp)
            } else {
                try txn.delete(env.meta, StoreTotals.metaKey)
            }
        }
        env.close()
    }

    func testSchema1StoreIsMigratedAtOpenAndNothingIsLost() throws {
        for totals in [false, true] {
            let dir = makeTempDir("migrate")
            let long = "site/" + String(repeating: "long/", count: 120)
            var records = (0..<12_000).map { record("site/f\($0)", size: Int64($0), hits: UInt64($0 % 7)) }
            records.append(record(long + "a", size: 5))
            try makeSchema1Store(dir, records: records, damaged: true, totals: totals)

            var ro = StoreOptions()
            ro.readOnly = true
            let reader = try CacheStore(directory: dir, options: ro)
            XCTAssertEqual(try reader.stats().schemaVersion, 1)
            XCTAssertEqual(try reader.get("site/f42"), records[42], "a schema-1 store reads before its migration")
            reader.close()

            var lines: [String] = []
            let store = try CacheStore(directory: dir, options: fastOptions(), log: { lines.append($0) })
            try store.flush()
            XCTAssertEqual(lines.filter { $0.contains("migrated from schema 1 to 2: 12001 records") }.count, 1, "\(lines)")
            let s = try store.stats()
            XCTAssertEqual(s.schemaVersion, 2)
            XCTAssertEqual(s.entries, records.count + 1)
            var good: [EntryRecord] = [], bad = 0
            try store.forEachEntry { if case .success(let r) = $0 { good.append(r) } else { bad += 1 }; return true }
            XCTAssertEqual(good.sorted { $0.key < $1.key }, records.sorted { $0.key < $1.key })
            XCTAssertEqual(bad, 1, "the damaged record is still reported, not dropped silently")
            XCTAssertEqual(try store.entries(prefix: long).map(\.key), [long + "a"])
            let formats = try store.reading { txn, e -> Set<UInt8> in
                var f: Set<UInt8> = []
                try txn.scan(e.entries) { k, v in
                    if !k.elementsEqual(Array("damaged".utf8)) { f.insert(v[0]) }
                    return true
                }
                return f
            }
            XCTAssertEqual(formats, [2])
            XCTAssertEqual(try store.keptTotals(), try store.countTotals())
            store.enqueue(.touch(key: "site/f1", hits: 2, lastAccessNanos: 9, policyState: 0, policySequence: 0))
            try store.flush()
            XCTAssertEqual(try store.get("site/f1")?.accessCount, 3)
            store.close()

            lines = []
            let again = try CacheStore(directory: dir, options: fastOptions(), log: { lines.append($0) })
            try again.flush()
            XCTAssertFalse(lines.contains { $0.contains("migrated") }, "migrated once: \(lines)")
            again.close()
        }
    }

    func testAStoreOfAFutureSchemaIsRefusedWithTheWayOut() throws {
        let dir = makeTempDir("migrate-future")
        try makeSchema1Store(dir, records: [record("a")], damaged: false, totals: true)
        let env = try LMDBEnvironment(path: dir, mapSize: 64 << 20, durability: .sync, readOnly: false)
        try env.write { try $0.put(env.meta, CacheStore.schemaKey, CacheStore.encodeU64(3)) }
        env.close()
        XCTAssertThrowsError(try CacheStore(directory: dir, options: fastOptions())) { e in
            XCTAssertEqual(e as? StoreError, .schemaMismatch(found: 3, expected: 2, path: dir))
            XCTAssertTrue("\(e)".contains("cachedump reset"), "\(e)")
        }
    }
}

extension CacheStore {
    /// Creates an empty store in `dir` (its databases and meta) and closes it.
    static func closeAfterCreating(_ dir: String) {
        (try? CacheStore(directory: dir, options: fastOptions()))?.close()
    }
}
