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
