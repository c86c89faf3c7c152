import Foundation
import XCTest
@testable import CacheStore

/// The entry totals kept with the records (`StoreTotals`): what `stats()` reads.
final class StoreTotalsTests: XCTestCase {
    /// After each step the kept totals equal a full count and the expected figures.
    private func assertTotals(_ store: CacheStore, _ entries: Int, _ bytes: Int64, _ step: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let kept = try XCTUnwrap(try store.keptTotals(), "\(step): no totals kept", file: file, line: line)
        XCTAssertEqual(kept, StoreTotals(entries: entries, bytes: bytes), step, file: file, line: line)
        XCTAssertEqual(try store.countTotals(), kept, "\(step): kept totals differ from a full count", file: file, line: line)
        let s = try store.stats()
        XCTAssertEqual(s.entries, entries, step, file: file, line: line)
        XCTAssertEqual(s.bytes, bytes, step, file: file, line: line)
    }

    func testTotalsFollowEveryKindOfChange() throws {
        let store = try CacheStore(directory: makeTempDir(), options: fastOptions())
        try assertTotals(store, 0, 0, "new store")
        let long = "s/" + String(repeating: "x", count: 600)
        for i in 0..<100 { store.enqueue(.put(record("a/\(i)", size: Int64(i)))) }
        store.enqueue(.put(record(long + "1", size: 1000)))
        store.enqueue(.put(record(long + "2", size: 2000)))
        try store.flush()
        try assertTotals(store, 102, 4950 + 3000, "puts")
        store.enqueue(.put(record("a/5", size: 500)))       // replace: 5 -> 500
        store.enqueue(.put(record(long + "1", size: 10)))   // replace under a hashed key
        try store.flush()
        try assertTotals(store, 102, 4950 + 495 + 2010, "replacements")
        store.enqueue(.touch(key: "a/7", hits: 3, lastAccessNanos: 9, policyState: 1, policySequence: 2))
        store.enqueue(.remove(key: "a/9"))
        store.enqueue(.remove(key: "absent"))
        store.enqueue(.remove(key: "a/9")) // twice in one batch
        try store.flush()
        try assertTotals(store, 101, 4950 + 495 + 2010 - 9, "touch and removals")
        store.enqueue(.removePrefix("a/1"))  // a/1, a/10..a/19
        store.enqueue(.removePrefix(long + "2"))
        try store.flush()
        let tens = 1 + (10...19).reduce(0, +)
        try assertTotals(store, 89, Int64(4950 + 495 - 9 - tens + 10), "prefix removals")
        store.enqueue(.removeAll)
        store.enqueue(.put(record("after", size: 7)))
        try store.flush()
        try assertTotals(store, 1, 7, "removeAll then a put in the same batch")
        store.close()
    }

    func testTotalsSurviveReopen() throws {
        let dir = makeTempDir()
        do {
            let store = try CacheStore(directory: dir, options: fastOptions())
            for i in 0..<500 { store.enqueue(.put(record("k\(i)", size: 3))) }
            store.close()
        }
        var lines: [String] = []
        let store = try CacheStore(directory: dir, options: fastOptions(), log: { lines.append($0) })
        try assertTotals(store, 500, 1500, "reopened")
        store.enqueue(.remove(key: "k1"))
        try store.flush()
        try assertTotals(store, 499, 1497, "after a removal")
        store.close()
        XCTAssertFalse(lines.contains { $0.contains("counted") }, "kept totals are not recounted: \(lines)")
    }

    /// A store written before totals were kept (no "totals" record), and one an
    /// older build committed to since (its stamp no longer matches): the writer
    /// counts once at open, logs it, and keeps them from then on.
    func testStoreWithoutValidTotalsIsCountedOnceAtOpen() throws {
        for damage in ["absent", "stale"] {
            let dir = makeTempDir()
            do {
                let store = try CacheStore(directory: dir, options: fastOptions())
                for i in 0..<300 { store.enqueue(.put(record("k\(i)", size: 2))) }
                store.close()
            }
            let env = try LMDBEnvironment(path: dir, mapSize: 16 << 20, durability: .sync, readOnly: false)
            try env.write { txn in
                if damage == "absent" {
                    try txn.delete(env.meta, StoreTotals.metaKey)
                } else {
                    // An older build's commit: a record and last_commit, totals untouched.
                    try txn.put(env.entries, Array("old-build".utf8), EntryRecordCodec.encode(record("old-build", size: 40)))
                    try txn.put(env.meta, StoreTotals.lastCommitKey, CacheStore.encodeU64(12345))
                }
            }
            env.close()
            let expected = damage == "absent" ? StoreTotals(entries: 300, bytes: 600) : StoreTotals(entries: 301, bytes: 640)

            var ro = StoreOptions()
            ro.readOnly = true
            let reader = try CacheStore(directory: dir, options: ro)
            XCTAssertNil(try reader.keptTotals(), damage)
            XCTAssertEqual(try reader.stats().bytes, expected.bytes, "\(damage): read-only stats count instead")
            reader.close()

            var lines: [String] = []
            let store = try CacheStore(directory: dir, options: fastOptions(), log: { lines.append($0) })
            try store.flush()
            try assertTotals(store, expected.entries, expected.bytes, damage)
            XCTAssertEqual(lines.filter { $0.contains("counted \(expected.entries) entries") }.count, 1, "\(damage): \(lines)")
            XCTAssertNotNil(try store.get("k299"), "\(damage): no data lost")
            store.enqueue(.put(record("new", size: 1)))
            try store.flush()
            try assertTotals(store, expected.entries + 1, expected.bytes + 1, "\(damage): then kept")
            store.close()
        }
    }
}
