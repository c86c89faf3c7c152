import XCTest
@testable import CacheStore

/// `mostHit`: the hottest records read from their fixed-offset counters, only the leaders decoded.
final class MostHitTests: XCTestCase {
    func testTheMostHitRecordsMostFirstTiesInKeyOrder() throws {
        let dir = makeTempDir("mosthit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try CacheStore(directory: dir, options: fastOptions())
        let hits: [String: UInt64] = ["a": 5, "b": 9, "c": 1, "d": 9, "e": 0, "f": 7, "g": 9, "h": 2]
        for (k, h) in hits { store.enqueue(.put(record("s/" + k, hits: h))) }
        // A key over 511 bytes is stored under a hash, with the key inside the record.
        let long = "s/" + String(repeating: "x", count: 600)
        store.enqueue(.put(record(long, hits: 8)))
        store.enqueue(.touch(key: "s/c", hits: 20, lastAccessNanos: 9, policyState: 0, policySequence: 0))
        try store.flush()
        let top = try store.mostHit(5)
        XCTAssertEqual(top.map(\.key), ["s/c", "s/b", "s/d", "s/g", long])
        XCTAssertEqual(top.map(\.accessCount), [21, 9, 9, 9, 8], "a touch adds to the stored count")
        XCTAssertEqual(top.first?.etag, "\"abc\"", "the leaders are decoded whole")
        XCTAssertEqual(try store.mostHit(100).count, 9)
        XCTAssertEqual(try store.mostHit(0).count, 0)
        let all = try store.entries().sorted { ($0.accessCount, $1.key) > ($1.accessCount, $0.key) }
        XCTAssertEqual(try store.mostHit(9).map(\.key), all.map(\.key), "the same order as sorting every record")
    }
}
