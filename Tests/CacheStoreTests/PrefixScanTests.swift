import Foundation
import XCTest
@testable import CacheStore

/// Prefix reads and removals seek to the prefix and stop past it; keys over
/// 511 bytes (stored under a hash) still match by their full key.
final class PrefixScanTests: XCTestCase {
    let long = String(repeating: "L", count: 520)

    /// 10,000 short keys in 100 directories, long keys in a few of them, and a
    /// short key that looks hashed.
    private func filledStore() throws -> (CacheStore, [String]) {
        let store = try CacheStore(directory: makeTempDir("prefix"), options: fastOptions())
        var keys: [String] = []
        for d in 0..<100 { for f in 0..<100 { keys.append("site/d\(d)/f\(f)") } }
        keys += ["site/d1/" + long, "site/d1/" + long + "b", "site/d10/" + long, "other/" + long, long, "#h:short", "#", "site/d1"]
        for k in keys { store.enqueue(.put(record(k, size: Int64(k.utf8.count)))) }
        try store.flush()
        return (store, keys)
    }

    func testPrefixReadsReturnExactlyThePrefixsEntries() throws {
        let (store, keys) = try filledStore()
        defer { store.close() }
        let prefixes = ["site/d1/", "site/d1", "site/d10/", "site/d99/f9", "site/d1/" + long, "site/d1/LL", "other/",
                        "#", "#h", "#h:", "#h:s", "L", long, long + "x", "site/", "", "zzz", "site/d1/f5"]
        for p in prefixes {
            let expected = keys.filter { $0.hasPrefix(p) }.sorted()
            XCTAssertEqual(try store.entries(prefix: p).map(\.key), expected, "prefix \(p.prefix(20))…")
        }
    }

    func testPrefixReadVisitsOnlyThePrefixAndTheLongKeys() throws {
        let (store, keys) = try filledStore()
        defer { store.close() }
        let hashed = keys.filter { StoreKey.lmdbKey($0).starts(with: StoreKey.hashedPrefix) }.count
        XCTAssertEqual(hashed, 6)
        for p in ["site/d42/", "site/d7/f3", "nothing-here"] {
            let before = store.recordsVisited.load(ordering: .relaxed)
            let found = try store.entries(prefix: p).count
            let visited = store.recordsVisited.load(ordering: .relaxed) - before
            // The prefix's records, the first key past them, the hashed run and the key past it.
            XCTAssertLessThanOrEqual(visited, found + 1 + hashed + 1, "prefix \(p) visited \(visited) of \(keys.count) records")
            XCTAssertEqual(found, keys.filter { $0.hasPrefix(p) }.count)
        }
        let before = store.recordsVisited.load(ordering: .relaxed)
        XCTAssertEqual(try store.entries().count, keys.count)
        XCTAssertEqual(store.recordsVisited.load(ordering: .relaxed) - before, keys.count, "no prefix: every record")
    }

    func testKeyOnlyPrefixReadsGiveTheSameKeysOfTheKindAsAFullDecoding() throws {
        let (store, keys) = try filledStore()
        defer { store.close() }
        // Records of another kind under the same prefixes are left out, long keys included.
        let proxied = ["site/d1/p", "site/d1/" + long + "p", "other/p"]
        for k in proxied {
            var r = record(k)
            r.kind = .proxied
            store.enqueue(.put(r))
        }
        try store.flush()
        for p in ["site/d1/", "site/d1", "site/", "other/", "#h", long, "", "zzz"] {
            let files = try store.entries(prefix: p).filter { $0.kind == .file }.map(\.key)
            XCTAssertEqual(try store.keys(prefix: p, kind: .file).sorted(), files, "prefix \(p.prefix(20))…")
            XCTAssertEqual(try store.keys(prefix: p, kind: .proxied).sorted(), proxied.filter { $0.hasPrefix(p) }.sorted(),
                           "prefix \(p.prefix(20))…")
        }
        XCTAssertEqual(try store.keys(prefix: "site/d1/", kind: .file).count, keys.filter { $0.hasPrefix("site/d1/") }.count)
    }

    func testRemovePrefixRemovesExactlyThePrefixsEntriesIncludingLongKeys() throws {
        let (store, keys) = try filledStore()
        defer { store.close() }
        var left = keys
        for p in ["site/d1/", "#h", "site/d10/f"] {
            store.enqueue(.removePrefix(p))
            try store.flush()
            left.removeAll { $0.hasPrefix(p) }
            XCTAssertEqual(try store.entries().map(\.key), left.sorted(), "after removing \(p)")
            XCTAssertEqual(try store.keptTotals(), try store.countTotals(), "after removing \(p)")
        }
        XCTAssertTrue(left.contains("site/d10/" + long), "a long key outside the prefix stays")
        XCTAssertTrue(left.contains("site/d1"), "a key shorter than the prefix stays")
    }

    /// A damaged record outside the prefix is never read; inside it, it is reported.
    func testDamagedRecordsAreReportedOnlyWithinThePrefix() throws {
        let dir = makeTempDir("prefix-damage")
        do {
            let store = try CacheStore(directory: dir, options: fastOptions())
            for k in ["a/1", "a/2", "b/1"] { store.enqueue(.put(record(k))) }
            store.close()
        }
        let env = try LMDBEnvironment(path: dir, mapSize: 16 << 20, durability: .sync, readOnly: false)
        try env.write { try $0.put(env.entries, Array("b/2".utf8), [1, 2, 3]) }
        env.close()
        let store = try CacheStore(directory: dir, options: fastOptions())
        defer { store.close() }
        var results: [Bool] = []
        try store.forEachEntry(prefix: "a/") { results.append((try? $0.get()) != nil); return true }
        XCTAssertEqual(results, [true, true])
        results = []
        try store.forEachEntry(prefix: "b/") { results.append((try? $0.get()) != nil); return true }
        XCTAssertEqual(results, [true, false])
    }
}
