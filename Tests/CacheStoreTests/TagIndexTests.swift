import CLMDB
import Foundation
import XCTest
@testable import CacheStore

/// The tag -> key index kept by the writer with the records, and soft purges.
final class TagIndexTests: XCTestCase {
    private func tagged(_ key: String, _ tags: [String], size: Int64 = 10) -> EntryRecord {
        var r = record(key, size: size)
        r.tags = tags
        return r
    }

    /// The index's keys for `tag`, sorted.
    private func keys(_ store: CacheStore, _ tags: String...) throws -> [String] { try store.keys(taggedWith: tags).sorted() }

    /// Every pair in the index belongs to a record that carries its tag, and every tag a record carries is indexed.
    private func assertConsistent(_ store: CacheStore, file: StaticString = #filePath, line: UInt = #line) throws {
        let (indexed, carried) = try store.tagPairsIndexedAndCarried()
        XCTAssertEqual(indexed, carried, "tag index pairs vs tags carried by records", file: file, line: line)
    }

    func testIndexFollowsPutReplaceRemovePrefixAndAll() throws {
        let store = try CacheStore(directory: makeTempDir(), options: fastOptions())
        defer { store.close() }
        store.enqueue(.put(tagged("a/1", ["red", "blue"])))
        store.enqueue(.put(tagged("a/2", ["red"])))
        store.enqueue(.put(tagged("b/1", ["blue", "green", "blue"])))
        store.enqueue(.put(record("plain")))
        try store.flush()
        XCTAssertEqual(try keys(store, "red"), ["a/1", "a/2"])
        XCTAssertEqual(try keys(store, "blue"), ["a/1", "b/1"])
        XCTAssertEqual(try keys(store, "red", "green"), ["a/1", "a/2", "b/1"])
        XCTAssertEqual(try keys(store, "nothing"), [])
        try assertConsistent(store)

        // Replacing a record replaces its tags.
        store.enqueue(.put(tagged("a/1", ["green"])))
        try store.flush()
        XCTAssertEqual(try keys(store, "red"), ["a/2"])
        XCTAssertEqual(try keys(store, "blue"), ["b/1"])
        XCTAssertEqual(try keys(store, "green"), ["a/1", "b/1"])
        try assertConsistent(store)

        store.enqueue(.remove(key: "b/1"))
        try store.flush()
        XCTAssertEqual(try keys(store, "blue"), [])
        XCTAssertEqual(try keys(store, "green"), ["a/1"])
        try assertConsistent(store)

        store.enqueue(.put(tagged("b/2", ["red"])))
        store.enqueue(.removePrefix("a/"))
        try store.flush()
        XCTAssertEqual(try keys(store, "red"), ["b/2"])
        XCTAssertEqual(try keys(store, "green"), [])
        try assertConsistent(store)

        store.enqueue(.removeAll)
        try store.flush()
        XCTAssertEqual(try keys(store, "red"), [])
        XCTAssertEqual(try store.tagPairsIndexedAndCarried().indexed, 0)
    }

    func testTagsAndSoftPurgeSurviveReopen() throws {
        let dir = makeTempDir()
        let long = String(repeating: "t", count: 600)
        let longKey = "k/" + String(repeating: "x", count: 700)
        do {
            let store = try CacheStore(directory: dir, options: fastOptions())
            store.enqueue(.put(tagged("k/1", ["product-1", long])))
            store.enqueue(.put(tagged(longKey, [long])))
            store.enqueue(.put(tagged("k/2", ["product-2"])))
            store.enqueue(.softPurge(key: "k/2", atNanos: 1234))
            store.enqueue(.softPurge(key: "absent", atNanos: 1))
            try store.flush()
            store.close()
        }
        let store = try CacheStore(directory: dir, options: fastOptions())
        defer { store.close() }
        XCTAssertEqual(try keys(store, "product-1"), ["k/1"])
        XCTAssertEqual(try keys(store, long), ["k/1", longKey])
        XCTAssertEqual(try store.get("k/2")?.softPurgedAtNanos, 1234)
        XCTAssertEqual(try store.get("k/2")?.tags, ["product-2"])
        XCTAssertEqual(try store.get("k/1")?.softPurgedAtNanos, 0)
        XCTAssertNil(try store.get("absent"))
        // A soft purge changes neither the tags nor the totals' bytes.
        XCTAssertEqual(try keys(store, "product-2"), ["k/2"])
        XCTAssertEqual(try store.keptTotals(), try store.countTotals())
        try assertConsistent(store)
    }

    func testPurgeByTagInOneTransaction() throws {
        let store = try CacheStore(directory: makeTempDir(), options: fastOptions())
        defer { store.close() }
        for i in 0..<3000 { store.enqueue(.put(tagged("e/\(i)", i % 3 == 0 ? ["third", "all"] : ["all"]))) }
        try store.flush()
        let victims = try store.keys(taggedWith: ["third"])
        XCTAssertEqual(victims.count, 1000)
        store.enqueue(contentsOf: victims.map { .remove(key: $0) })
        try store.flush()
        XCTAssertEqual(try store.keys(taggedWith: ["third"]), [])
        XCTAssertEqual(try store.keys(taggedWith: ["all"]).count, 2000)
        XCTAssertEqual(try store.stats().entries, 2000)
        XCTAssertEqual(try store.keptTotals(), try store.countTotals())
        try assertConsistent(store)
    }

    func testUntaggedRecordsCarryNoTagListAndTaggedOnesRoundTrip() throws {
        let plain = EntryRecordCodec.encode(record("p"))
        XCTAssertEqual(plain[0], EntryRecordCodec.format)
        XCTAssertEqual(plain[1] & EntryRecordCodec.tagged, 0)
        var r = tagged("t", ["a", "b"])
        r.softPurgedAtNanos = 99
        let bytes = EntryRecordCodec.encode(r)
        XCTAssertEqual(bytes[0], EntryRecordCodec.format)
        XCTAssertEqual(bytes[1] & EntryRecordCodec.tagged, EntryRecordCodec.tagged)
        let back = try bytes.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "t") }
        XCTAssertEqual(back, r)
        XCTAssertEqual(bytes.withUnsafeBytes { EntryRecordCodec.tags(of: $0) }, ["a", "b"])
        XCTAssertTrue(bytes.withUnsafeBytes { EntryRecordCodec.isIntact($0) })
        // Touches rewrite the fixed fields of either format in place.
        var touched = bytes
        EntryRecordCodec.applyTouch(&touched, hits: 2, lastAccessNanos: 50, policyState: 1, policySequence: 1)
        let t = try touched.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "t") }
        XCTAssertEqual(t.tags, ["a", "b"])
        XCTAssertEqual(t.accessCount, r.accessCount + 2)
        // A truncated tag list is an error naming the key, not a crash.
        var cut = Array(bytes.dropLast(4 + 1))
        cut.append(contentsOf: [0, 0, 0, 0, 0])
        XCTAssertThrowsError(try cut.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "t") })
    }

    func testStoreWithoutTagDatabaseOpensReadOnlyAndGainsItWhenWritable() throws {
        // A store made by an older build: "entries" and "meta" only.
        let dir = makeTempDir()
        do {
            var env: OpaquePointer?
            XCTAssertEqual(mdb_env_create(&env), 0)
            mdb_env_set_maxdbs(env, 4)
            XCTAssertEqual(mdb_env_open(env, dir, 0, 0o644), 0)
            var txn: OpaquePointer?
            mdb_txn_begin(env, nil, 0, &txn)
            var dbi: MDB_dbi = 0
            XCTAssertEqual(mdb_dbi_open(txn, "entries", UInt32(MDB_CREATE), &dbi), 0)
            XCTAssertEqual(mdb_dbi_open(txn, "meta", UInt32(MDB_CREATE), &dbi), 0)
            var k = MDB_val(), v = MDB_val()
            let name = Array("schema_version".utf8), one = CacheStore.encodeU64(UInt64(CacheStore.schemaVersion))
            name.withUnsafeBytes { nb in one.withUnsafeBytes { ob in
                k.mv_size = nb.count; k.mv_data = UnsafeMutableRawPointer(mutating: nb.baseAddress)
                v.mv_size = ob.count; v.mv_data = UnsafeMutableRawPointer(mutating: ob.baseAddress)
                XCTAssertEqual(mdb_put(txn, dbi, &k, &v, 0), 0)
            } }
            XCTAssertEqual(mdb_txn_commit(txn), 0)
            mdb_env_close(env)
        }
        var ro = fastOptions()
        ro.readOnly = true
        let reader = try CacheStore(directory: dir, options: ro)
        XCTAssertEqual(try reader.keys(taggedWith: ["x"]), [])
        reader.close()
        let store = try CacheStore(directory: dir, options: fastOptions())
        defer { store.close() }
        store.enqueue(.put(tagged("n", ["x"])))
        try store.flush()
        XCTAssertEqual(try store.keys(taggedWith: ["x"]), ["n"])
    }
}
