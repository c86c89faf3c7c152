import Foundation
import XCTest
@testable import CacheStore

final class CacheStoreTests: XCTestCase {
    func testBatchesCommitAndTouchesAddUp() throws {
        let dir = makeTempDir()
        let store = try CacheStore(directory: dir, options: fastOptions())
        for i in 0..<1000 { store.enqueue(.put(record("k\(i)", size: Int64(i)))) }
        for _ in 0..<5 { store.enqueue(.touch(key: "k7", hits: 2, lastAccessNanos: 900, policyState: 1, policySequence: 2)) }
        store.enqueue(.touch(key: "absent", hits: 1, lastAccessNanos: 1, policyState: 0, policySequence: 0))
        store.enqueue(.addCounter(name: "hits", delta: 5))
        store.enqueue(.addCounter(name: "hits", delta: 6))
        try store.flush()
        XCTAssertEqual(try store.entries().count, 1000)
        XCTAssertEqual(try store.get("k7")?.accessCount, 10)
        XCTAssertEqual(try store.get("k7")?.lastAccessNanos, 900)
        XCTAssertNil(try store.get("absent"))
        XCTAssertEqual(try store.counter("hits"), 11)
        let s = try store.stats()
        XCTAssertEqual(s.entries, 1000)
        XCTAssertEqual(s.bytes, Int64((0..<1000).reduce(0, +)))
        XCTAssertGreaterThan(s.lastCommitNanos, 0)
        store.enqueue(.removePrefix("k1"))  // k1, k10..k19, k100..k199
        store.enqueue(.remove(key: "k2"))
        try store.flush()
        XCTAssertEqual(try store.entries().count, 1000 - 111 - 1)
        XCTAssertEqual(try store.entries(prefix: "k1").count, 0)
        store.enqueue(.removeAll)
        try store.flush()
        XCTAssertEqual(try store.stats().entries, 0)
        store.close()
    }

    func testAKindFilterSkipsOtherRecordsUndecodedAndKeepsDamageVisible() throws {
        let dir = makeTempDir()
        let store = try CacheStore(directory: dir, options: fastOptions())
        defer { store.close() }
        for i in 0..<50 { store.enqueue(.put(record("f\(i)"))) }
        var v = record("v1")
        v.kind = .variant
        store.enqueue(.put(v))
        var p = record("p1")
        p.kind = .proxied
        store.enqueue(.put(p))
        try store.flush()
        var variants: [String] = [], files = 0
        try store.forEachEntry(kind: .variant) { variants.append(try $0.get().key); return true }
        try store.forEachEntry(kind: .file) { if try $0.get().kind == .file { files += 1 }; return true }
        XCTAssertEqual(variants, ["v1"])
        XCTAssertEqual(files, 50)
        for (kind, bytes) in [(EntryKind.file, EntryRecordCodec.encode(record("a"))), (.proxied, EntryRecordFormat1.encode(p)),
                              (.variant, EntryRecordCodec.encode(v))] {
            XCTAssertEqual(bytes.withUnsafeBytes { EntryRecordCodec.kind(of: $0) }, kind)
        }
        XCTAssertNil([UInt8]([2]).withUnsafeBytes { EntryRecordCodec.kind(of: $0) }, "too short: left to decode, which says why")
    }

    func testReopenKeepsEverythingAndCountersPersist() throws {
        let dir = makeTempDir()
        do {
            let store = try CacheStore(directory: dir, options: fastOptions())
            store.enqueue(.put(record("a", hits: 3)))
            store.enqueue(.addCounter(name: "misses", delta: 2))
            store.enqueue(.setMeta(name: "policy", value: [9, 8, 7]))
            store.close() // close flushes
        }
        let store = try CacheStore(directory: dir, options: fastOptions())
        XCTAssertEqual(try store.get("a"), record("a", hits: 3))
        XCTAssertEqual(try store.counter("misses"), 2)
        XCTAssertEqual(try store.meta("policy"), [9, 8, 7])
        store.close()
    }

    func testLongKeysRoundTripAndDoNotCollide() throws {
        let store = try CacheStore(directory: makeTempDir(), options: fastOptions())
        let base = "site/" + String(repeating: "deep/", count: 150)
        store.enqueue(.put(record(base + "one")))
        store.enqueue(.put(record(base + "two", size: 2)))
        try store.flush()
        XCTAssertEqual(try store.get(base + "one")?.size, 100)
        XCTAssertEqual(try store.get(base + "two")?.size, 2)
        XCTAssertNil(try store.get(base + "three"))
        XCTAssertEqual(try store.entries(prefix: base).map(\.key).sorted(), [base + "one", base + "two"])
        store.enqueue(.removePrefix(base + "o"))
        try store.flush()
        XCTAssertEqual(try store.entries().map(\.key), [base + "two"])
        store.close()
    }

    func testMapGrowsWhenFull() throws {
        var o = fastOptions()
        o.mapSize = 64 << 10
        o.maxMapSize = 64 << 20
        let store = try CacheStore(directory: makeTempDir(), options: o)
        let pad = String(repeating: "p", count: 300)
        for i in 0..<5000 { store.enqueue(.put(record("key-\(i)-\(pad)"))) }
        try store.flush()
        XCTAssertEqual(try store.stats().entries, 5000)
        XCTAssertGreaterThan(try store.stats().mapSize, 64 << 10)
        store.close()
    }

    func testFullAtMaximumReportsAndKeepsOldData() throws {
        var o = fastOptions()
        o.mapSize = 64 << 10
        o.maxMapSize = 64 << 10
        let store = try CacheStore(directory: makeTempDir(), options: o)
        var told = false
        store.onFull = { told = true }
        store.enqueue(.put(record("keep")))
        try store.flush()
        let pad = String(repeating: "p", count: 400)
        for i in 0..<3000 { store.enqueue(.put(record("key-\(i)-\(pad)"))) }
        store.enqueue(.addCounter(name: "c", delta: 1))
        try? store.flush()
        XCTAssertTrue(told)
        XCTAssertNotNil(try store.get("keep"))
        XCTAssertEqual(try store.counter("c"), 1, "non-insert operations of the batch still commit")
        store.close()
    }

    func testSchemaMismatchIsAClearError() throws {
        let dir = makeTempDir()
        let store = try CacheStore(directory: dir, options: fastOptions())
        store.close()
        // Rewrite the schema version as a future build would.
        let env = try LMDBEnvironment(path: dir, mapSize: 1 << 20, durability: .sync, readOnly: false)
        try env.write { try $0.put(env.meta, Array("schema_version".utf8), CacheStore.encodeU64(99)) }
        env.close()
        XCTAssertThrowsError(try CacheStore(directory: dir, options: fastOptions())) { e in
            XCTAssertEqual(e as? StoreError, .schemaMismatch(found: 99, expected: CacheStore.schemaVersion, path: dir))
            XCTAssertTrue("\(e)".contains("move the directory aside"))
        }
    }

    func testDamagedDataFilesAreMovedAside() throws {
        for damage in ["garbage", "truncated"] {
            let dir = makeTempDir()
            let store = try CacheStore(directory: dir, options: fastOptions())
            for i in 0..<2000 { store.enqueue(.put(record("k\(i)"))) }
            store.close()
            let data = dir + "/data.mdb"
            if damage == "garbage" {
                try Data(repeating: 0xAB, count: 64 << 10).write(to: URL(fileURLWithPath: data))
            } else {
                let h = try FileHandle(forWritingTo: URL(fileURLWithPath: data))
                try h.truncate(atOffset: 3 * 4096)
                try h.close()
            }
            var lines: [String] = []
            let fresh = try CacheStore(directory: dir, options: fastOptions(), log: { lines.append($0) })
            XCTAssertEqual(try fresh.stats().entries, 0, damage)
            XCTAssertTrue(lines.contains { $0.contains("moved it to") }, "\(damage): \(lines)")
            let parent = (dir as NSString).deletingLastPathComponent
            let base = (dir as NSString).lastPathComponent
            XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: parent).contains { $0.hasPrefix(base + ".old-") })
            fresh.enqueue(.put(record("new")))
            try fresh.flush()
            XCTAssertNotNil(try fresh.get("new"))
            fresh.close()
        }
    }

    func testCorruptRecordIsReportedNotFatal() throws {
        let dir = makeTempDir()
        let store = try CacheStore(directory: dir, options: fastOptions())
        store.enqueue(.put(record("good")))
        try store.flush()
        store.close()
        let env = try LMDBEnvironment(path: dir, mapSize: 16 << 20, durability: .sync, readOnly: false)
        try env.write { try $0.put(env.entries, Array("bad".utf8), [1, 2, 3, 4, 5, 6]) }
        env.close()
        let again = try CacheStore(directory: dir, options: fastOptions())
        XCTAssertThrowsError(try again.get("bad")) { e in
            guard case StoreError.corruptRecord(let key, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(key, "bad")
        }
        var good = 0, bad = 0
        try again.forEachEntry { r in if case .success = r { good += 1 } else { bad += 1 }; return true }
        XCTAssertEqual([good, bad], [1, 1])
        again.close()
    }

    func testReadOnlyNeverCreates() {
        var o = StoreOptions()
        o.readOnly = true
        let dir = makeTempDir() + "/missing"
        XCTAssertThrowsError(try CacheStore(directory: dir, options: o)) { e in
            XCTAssertEqual(e as? StoreError, .missingDirectory(path: dir))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    func testConcurrentEnqueueAndReads() throws {
        let store = try CacheStore(directory: makeTempDir(), options: fastOptions())
        store.enqueue(.put(record("hot")))
        try store.flush()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<2000 {
                if t % 2 == 0 {
                    store.enqueue(.touch(key: "hot", hits: 1, lastAccessNanos: Int64(i), policyState: 0, policySequence: 0))
                } else {
                    XCTAssertNotNil(try? store.get("hot"))
                }
            }
        }
        try store.flush()
        XCTAssertEqual(try store.get("hot")?.accessCount, 4000)
        store.close()
    }
}
