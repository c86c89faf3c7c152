import XCTest
@testable import CachePolicies

/// The default's prior for sized caches (`DuelingPolicy.sizedPrior`).
final class DuelingPolicySizedTests: XCTestCase {
    /// Fills a default policy of `capacity` units with `size(k)` entries up to
    /// its first eviction; returns it and the entry count at which S3-FIFO
    /// began to serve (nil if it did not).
    private func filled(capacity: Int = 90_000, size: (UInt64) -> Int) -> (DuelingPolicy, s3fifoFrom: Int?) {
        let p = makePolicy(.default, capacity: capacity) as! DuelingPolicy
        var k: UInt64 = 0
        var from: Int?
        while p.shadowsSettled == false && k < 100_000 {
            XCTAssertTrue(p.recordMiss(k, size: size(k)).admitted)
            if from == nil && p.active == .s3fifo { from = p.count }
            k += 1
        }
        XCTAssertTrue(p.shadowsSettled)
        return (p, from)
    }

    /// Entries of differing sizes in a cache that will hold about 6,000 (its
    /// shadows will sample): S3-FIFO serves from 1,024 entries on, with every
    /// entry moved to it, and still at the first eviction.
    func testACacheOfDifferingSizesThatWillSampleServesWithS3FIFOEarly() {
        let (p, from) = filled { $0 % 2 == 0 ? 10 : 20 }
        XCTAssertEqual(from, 1_024, "asked at 1,024 entries, 6,000 projected")
        XCTAssertNotEqual(p.sampleMask, 0, "the shadows sample")
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.switches, 1)
        XCTAssertGreaterThan(p.used, 90_000 - 20)
        XCTAssertLessThanOrEqual(p.used, 90_000)
    }

    /// Entries all charged alike (every unsized trace; responses under the
    /// proxy's minimum charge): W-TinyLFU goes on serving.
    func testACacheOfEqualSizesKeepsWTinyLFU() {
        let (p, from) = filled { _ in 15 }
        XCTAssertNotEqual(p.sampleMask, 0)
        XCTAssertNil(from)
        XCTAssertEqual(p.active, .wtinylfu)
        XCTAssertEqual(p.switches, 0)
    }

    /// Full-size shadows (a small cache) judge exactly from the first
    /// eviction: no prior, early or late.
    func testASmallCacheOfDifferingSizesKeepsWTinyLFUWithoutEvidence() {
        let (p, from) = filled(capacity: 9_000) { $0 % 2 == 0 ? 10 : 20 }
        XCTAssertEqual(p.sampleMask, 0)
        XCTAssertNil(from)
        XCTAssertEqual(p.active, .wtinylfu)
    }

    /// Sizes that differ only past the early checks (twice `earlyPriorLimit`
    /// entries of one size first): the prior is asked again at the first
    /// eviction, where the whole cache moves.
    func testSizesThatDifferLateMoveTheCacheAtItsFirstEviction() {
        let alike = UInt64(2 * DuelingPolicy.earlyPriorLimit + 100)
        let (p, from) = filled(capacity: 400_000) { $0 < alike ? 15 : ($0 % 2 == 0 ? 10 : 20) }
        XCTAssertGreaterThan(p.count, Int(alike))
        XCTAssertEqual(from, p.count, "S3-FIFO from the first eviction")
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.switches, 1)
    }
}
