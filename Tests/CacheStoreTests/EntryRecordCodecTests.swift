import CapuchinSystem
import XCTest
@testable import CacheStore

final class EntryRecordCodecTests: XCTestCase {
    func testRoundTripKeepsEveryField() throws {
        var r = record("site/a b/ü.html", size: 1 << 40, hits: 99)
        r.kind = .proxied
        r.extra = Array(0...255)
        let bytes = EntryRecordCodec.encode(r)
        let back = try bytes.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: r.key) }
        XCTAssertEqual(back, r)
    }

    func testCorruptOrForeignRecordsNameTheKey() {
        let good = EntryRecordCodec.encode(record("k"))
        var flipped = good; flipped[20] ^= 0xFF
        var otherFormat = good; otherFormat[0] = 9
        let cases: [([UInt8], String)] = [([], "bytes"), (Array(good.prefix(10)), "checksum"), (flipped, "checksum"), (otherFormat, "format 9")]
        for (bytes, why) in cases {
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "the-key") }) { e in
                guard case let StoreError.corruptRecord(key, reason) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(key, "the-key")
                XCTAssertTrue(reason.contains(why), reason)
            }
        }
    }

    func testTouchRewritesAccessFieldsOnly() throws {
        var bytes = EntryRecordCodec.encode(record("k", hits: 3))
        EntryRecordCodec.applyTouch(&bytes, hits: 4, lastAccessNanos: 77, policyState: 11, policySequence: 12)
        let r = try bytes.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "k") }
        XCTAssertEqual(r.accessCount, 7)
        XCTAssertEqual(r.lastAccessNanos, 77)
        XCTAssertEqual(r.policyState, 11)
        XCTAssertEqual(r.policySequence, 12)
        XCTAssertEqual(r.size, 100)
    }

    func testLongKeysHashAndShortKeysDoNot() {
        XCTAssertEqual(StoreKey.lmdbKey("abc"), Array("abc".utf8))
        let long1 = String(repeating: "x", count: 600) + "1", long2 = String(repeating: "x", count: 600) + "2"
        XCTAssertLessThanOrEqual(StoreKey.lmdbKey(long1).count, 511)
        XCTAssertNotEqual(StoreKey.lmdbKey(long1), StoreKey.lmdbKey(long2))
        // A short key that looks hashed is hashed too, so it can never collide with one.
        XCTAssertNotEqual(StoreKey.lmdbKey("#h:abc"), Array("#h:abc".utf8))
    }
}

/// Format 2 (compact) beside format 1 (what schema-1 stores hold).
final class EntryRecordFormatsTests: XCTestCase {
    func testFormat2OmitsADirectKeyAndKeepsAHashedOne() throws {
        let short = record("site/a.html"), long = record("site/" + String(repeating: "d/", count: 300))
        for r in [short, long] {
            let v2 = EntryRecordCodec.encode(r)
            XCTAssertEqual(v2[0], 2)
            let back = try v2.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: String(decoding: StoreKey.lmdbKey(r.key), as: UTF8.self)) }
            XCTAssertEqual(back, r)
            let keyInRecord = v2.withUnsafeBytes { EntryRecordCodec.key(of: $0).map { String(decoding: $0, as: UTF8.self) } }
            XCTAssertEqual(keyInRecord, StoreKey.isDirect(r.key) ? nil : r.key)
            let v1 = EntryRecordFormat1.encode(r)
            // The key (when direct) and about 40 bytes of fixed fields less.
            XCTAssertLessThanOrEqual(v2.count, v1.count - (StoreKey.isDirect(r.key) ? r.key.utf8.count : 0) - 30, "\(v1.count) -> \(v2.count)")
        }
    }

    func testBothFormatsDecodeTouchAndReportTheirSize() throws {
        var r = record("k", size: 1 << 33, hits: 3)
        r.mtimeNanos = -5 // before the epoch: zigzag
        r.insertedAtNanos = .max
        r.device = .max
        for bytes in [EntryRecordFormat1.encode(r), EntryRecordCodec.encode(r)] {
            var b = bytes
            XCTAssertTrue(b.withUnsafeBytes { EntryRecordCodec.isIntact($0) })
            XCTAssertEqual(b.withUnsafeBytes { EntryRecordCodec.storedSize($0) }, 1 << 33)
            XCTAssertEqual(try b.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "k") }, r)
            EntryRecordCodec.applyTouch(&b, hits: 4, lastAccessNanos: 77, policyState: 11, policySequence: 12)
            XCTAssertEqual(b[0], bytes[0], "a touch keeps the format")
            var expected = r
            expected.accessCount = 7
            expected.lastAccessNanos = 77
            expected.policyState = 11
            expected.policySequence = 12
            XCTAssertEqual(try b.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "k") }, expected)
        }
    }

    func testAnEntityTagDerivedFromTheFileIsLeftOutAndDerivedAgain() throws {
        var r = record("site/a.html", size: 20_000)
        r.inode = 0x1f
        r.mtimeNanos = 0x17e2_b3c4_d5e6_f7a8
        r.tags = ["t1", "t2"]
        var stored = r
        stored.etag = "\"1f-4e20-17e2b3c4d5e6f7a8\""
        XCTAssertEqual(stored.etag, FileEntityTag.format(inode: 0x1f, size: 20_000, mtimeNanos: 0x17e2_b3c4_d5e6_f7a8))
        var other = r
        other.etag = "\"1f-4e20-17e2b3c4d5e6f7a9\"" // an upstream's, or an older version's: kept as is
        let derived = EntryRecordCodec.encode(stored), kept = EntryRecordCodec.encode(other)
        XCTAssertEqual(derived.count, kept.count - 1 - other.etag.utf8.count, "the tag and its length byte left out")
        for (bytes, rec) in [(derived, stored), (kept, other)] {
            XCTAssertEqual(try bytes.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: rec.key) }, rec)
            XCTAssertEqual(bytes.withUnsafeBytes { EntryRecordCodec.tags(of: $0) }, ["t1", "t2"])
            XCTAssertTrue(bytes.withUnsafeBytes { EntryRecordCodec.carries($0, tag: Array("t2".utf8)) })
            var touched = bytes
            EntryRecordCodec.applyTouch(&touched, hits: 1, lastAccessNanos: 5, policyState: 0, policySequence: 0)
            XCTAssertEqual(try touched.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: rec.key) }.etag, rec.etag)
        }
    }

    func testTruncatedFormat2RecordsAreErrorsNotCrashes() {
        let good = EntryRecordCodec.encode(record("site/" + String(repeating: "x", count: 600)))
        for n in 0..<good.count {
            var cut = Array(good.prefix(n))
            // Reseal so the decoder reaches the field parsing, not just the checksum.
            if cut.count >= 4 { cut.removeLast(4); RecordWriter.seal(&cut) }
            XCTAssertThrowsError(try cut.withUnsafeBytes { try EntryRecordCodec.decode($0, storedKey: "k") }, "\(n) bytes")
            _ = cut.withUnsafeBytes { (EntryRecordCodec.key(of: $0), EntryRecordCodec.storedSize($0), EntryRecordCodec.isIntact($0)) }
        }
    }
}
