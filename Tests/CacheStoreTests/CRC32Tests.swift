import XCTest
@testable import CacheStore

/// The slicing-by-8 CRC gives the classic byte-at-a-time CRC-32 (IEEE) for
/// every length and alignment, so records sealed before it still check.
final class CRC32Tests: XCTestCase {
    private func reference(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    func testKnownValueAndEveryLengthAndOffsetMatchTheBytewiseCRC() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        var rng = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for start in 0..<9 {
            for length in 0...(data.count - start) where length < 40 || length % 13 == 0 {
                let slice = data[start..<(start + length)]
                let want = reference(Array(slice))
                XCTAssertEqual(CRC32.checksum(slice), want, "start \(start) length \(length)")
                XCTAssertEqual(Array(slice).withUnsafeBytes { CRC32.checksum($0) }, want)
                // A non-contiguous collection takes the byte-at-a-time path.
                XCTAssertEqual(CRC32.checksum(slice.lazy.map { $0 }), want)
            }
        }
    }
}
