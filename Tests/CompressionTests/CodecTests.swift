import Compression
import XCTest

final class CodecTests: XCTestCase {
    /// Text that compresses (repeated words) with some variety, `count` bytes.
    private func sample(_ count: Int) -> [UInt8] {
        let words = ["body", "margin", "color", "{", "}", ";", "padding: 0", "\n", "function", "return"]
        var out: [UInt8] = []
        var i = 0
        // A deterministic, irregular walk over the words (the same text on every run).
        while out.count < count {
            out += Array(words[(i * 7 + i / 3 + i / 11) % words.count].utf8) + [32]
            i += 1
        }
        return Array(out.prefix(count))
    }

    func testEveryCodingRoundTripsAndShrinksText() throws {
        for coding in ContentCoding.allCases {
            for size in [0, 1, 300, 16 << 10, 256 << 10] {
                let input = sample(size)
                let packed = try coding.compress(input, level: coding.defaultLevel)
                XCTAssertEqual(try coding.decompress(packed), input, "\(coding) \(size)")
                if size >= 16 << 10 { XCTAssertLessThan(packed.count, input.count / 3, "\(coding) \(size)") }
            }
        }
    }

    func testGzipHasTheGzipMagicAndZstdItsFrameMagic() throws {
        let input = sample(1000)
        XCTAssertEqual(Array(try ContentCoding.gzip.compress(input, level: 6).prefix(2)), [0x1f, 0x8b])
        XCTAssertEqual(Array(try ContentCoding.zstd.compress(input, level: 6).prefix(4)), [0x28, 0xb5, 0x2f, 0xfd])
    }

    func testLevelsOutsideTheRangeAreClamped() throws {
        for coding in ContentCoding.allCases {
            let input = sample(5000)
            XCTAssertEqual(try coding.decompress(try coding.compress(input, level: 99)), input)
            XCTAssertEqual(try coding.decompress(try coding.compress(input, level: -5)), input)
        }
    }

    func testCorruptAndTruncatedInputIsAnErrorNotACrash() throws {
        for coding in ContentCoding.allCases {
            let packed = try coding.compress(sample(20000), level: coding.defaultLevel)
            XCTAssertThrowsError(try coding.decompress(Array(packed.prefix(packed.count / 2))), "\(coding) truncated")
            XCTAssertThrowsError(try coding.decompress([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6]), "\(coding) garbage")
        }
    }

    func testDecompressionStopsAtTheLimit() throws {
        for coding in ContentCoding.allCases {
            let packed = try coding.compress([UInt8](repeating: 65, count: 1 << 20), level: 1)
            XCTAssertThrowsError(try coding.decompress(packed, limit: 1000), "\(coding)")
        }
    }

    func testTokensAndExtensions() {
        XCTAssertEqual(ContentCoding(token: "BR"), .brotli)
        XCTAssertEqual(ContentCoding(token: "x-gzip"), .gzip)
        XCTAssertEqual(ContentCoding(token: "zstd"), .zstd)
        XCTAssertNil(ContentCoding(token: "deflate"))
        XCTAssertEqual(ContentCoding.allCases.map(\.fileExtension), [".br", ".zst", ".gz"])
    }
}
