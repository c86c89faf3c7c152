import XCTest
@testable import CachePolicies

/// The default's prior for sized caches (`DuelingPolicy.sizedPrior`).
final class DuelingPolicySizedTests: XCTestCase {
    /// Fills a default policy of 90,000 units with `size(k)` entries up to
    /// its first eviction (about 6,000 entries: the shadows sample).
    private func filled(size: (UInt64) -> Int) -> DuelingPolicy {
        let p = makePolicy(.default, capacity: 90_000) as! DuelingPolicy
        var k: UInt64 = 0
        while p.shadowsSettled == false && k < 20_000 {
            XCTAssertTrue(p.recordMiss(k, size: size(k)).admitted)
            k += 1
        }
        XCTAssertTrue(p.shadowsSettled)
        XCTAssertNotEqual(p.sampleMask, 0, "the shadows sample")
        return p
    }

    /// Entries of differing sizes: S3-FIFO serves from the first eviction, with
    /// every resident entry (nothing but the eviction's own victims lost).
    func testASampledCacheOfDifferingSizesServesWithS3FIFOFromItsFirstEviction() {
        let p = filled { $0 % 2 == 0 ? 10 : 20 }
        XCTAssertEqual(p.active, .s3fifo)
        XCTAssertEqual(p.switches, 1)
        XCTAssertGreaterThan(p.used, 90_000 - 20)
        XCTAssertLessThanOrEqual(p.used, 90_000)
    }

    /// Entries all charged alike (every unsized trace; responses under the
    /// proxy's minimum charge): W-TinyLFU goes on serving.
    func testASampledCacheOfEqualSizesKeepsWTinyLFU() {
        let p = filled { _ in 15 }
        XCTAssertEqual(p.active, .wtinylfu)
        XCTAssertEqual(p.switches, 0)
    }

    /// Full-size shadows (a small cache) judge exactly from the first eviction:
    /// no prior.
    func testASmallCacheOfDifferingSizesKeepsWTinyLFUWithoutEvidence() {
        let p = makePolicy(.default, capacity: 9_000) as! DuelingPolicy
        var k: UInt64 = 0
        while p.shadowsSettled == false && k < 2_000 {
            _ = p.recordMiss(k, size: k % 2 == 0 ? 10 : 20)
            k += 1
        }
        XCTAssertTrue(p.shadowsSettled)
        XCTAssertEqual(p.sampleMask, 0)
        XCTAssertEqual(p.active, .wtinylfu)
    }
}
