import CacheStore
import CapuchinServer
import CapuchinSystem
import Compression
import XCTest
@testable import FileCache

final class CompressionConfigTests: XCTestCase {
    private func parse(_ section: String) throws -> CompressionConfig {
        let text = "sites:\n  - root: /tmp\n    default: true\ncompression:\n" + section
        let config = try ConfigLoader.parse(text, file: "test.yaml")
        return try CompressionConfig(section: config.section(for: "compression"))
    }

    private func error(_ section: String) -> ConfigError? {
        do { _ = try parse(section); return nil } catch { return error as? ConfigError }
    }

    func testDefaultsAndValues() throws {
        XCTAssertEqual(try CompressionConfig(section: .empty(file: "x", path: "compression")), CompressionConfig())
        let d = CompressionConfig()
        XCTAssertEqual(d.codings, [.brotli, .zstd, .gzip])
        XCTAssertEqual(d.levels[.brotli], 8)
        XCTAssertEqual(d.backgroundLevels, [.brotli: 11, .zstd: 19, .gzip: 9])
        XCTAssertEqual(d.level(.brotli, inline: true), 8)
        XCTAssertEqual(d.level(.brotli, inline: false), 11)
        XCTAssertEqual(d.minSize, 256)
        let c = try parse("""
          encodings: [gzip, br]
          gzip_level: 9
          brotli_level: 11
          zstd_level: 3
          brotli_background_level: 10
          zstd_background_level: 12
          min_size: 1k
          max_size: 1m
          inline_max_size: 2k
          precompressed: false
          on_the_fly: false
          types: [text/*, application/json]
        """)
        XCTAssertEqual(c.codings, [.gzip, .brotli])
        XCTAssertEqual(c.levels, [.gzip: 9, .brotli: 11, .zstd: 3])
        XCTAssertEqual(c.backgroundLevels, [.gzip: 9, .brotli: 10, .zstd: 12])
        XCTAssertEqual(c.level(.zstd, inline: true), 3)
        XCTAssertEqual(c.level(.zstd, inline: false), 12)
        XCTAssertEqual(c.minSize, 1024)
        XCTAssertEqual(c.maxSize, 1 << 20)
        XCTAssertEqual(c.inlineMaxSize, 2048)
        XCTAssertFalse(c.precompressed)
        XCTAssertFalse(c.onTheFly)
    }

    func testErrorsNameTheKeyAndLine() {
        let e = error("  encodings: [br, deflate]\n")
        XCTAssertEqual(e?.key, "compression.encodings")
        XCTAssertEqual(e?.line, 5)
        XCTAssertTrue(e?.message.contains("deflate") ?? false)
        XCTAssertEqual(error("  encodings: [br, br]\n")?.key, "compression.encodings")
        XCTAssertEqual(error("  gzip_level: 10\n")?.key, "compression.gzip_level")
        XCTAssertEqual(error("  brotli_level: -1\n")?.key, "compression.brotli_level")
        XCTAssertEqual(error("  zstd_background_level: 20\n")?.key, "compression.zstd_background_level")
        XCTAssertEqual(error("  brotli_background_level: 12\n")?.key, "compression.brotli_background_level")
        XCTAssertEqual(error("  min_size: 2m\n  max_size: 1m\n")?.key, "compression.min_size")
        XCTAssertEqual(error("  types: [text]\n")?.key, "compression.types")
        XCTAssertEqual(error("  level: 3\n")?.key, "compression.level")
    }

    func testCompressibleTypes() {
        let c = CompressionConfig()
        for t in ["text/css", "text/html; charset=utf-8", "application/json", "application/javascript", "image/svg+xml",
                  "application/wasm", "TEXT/PLAIN", "application/xml"] {
            XCTAssertTrue(c.compresses(contentType: t), t)
        }
        for t in ["image/png", "image/jpeg", "font/woff2", "application/zip", "application/gzip", "video/mp4",
                  "application/octet-stream", "application/pdf"] {
            XCTAssertFalse(c.compresses(contentType: t), t)
        }
        var wide = CompressionConfig()
        wide.types = ["image/*", "font/*"]
        // Already-compressed types stay out whatever the configuration says.
        XCTAssertFalse(wide.compresses(contentType: "image/png"))
        XCTAssertFalse(wide.compresses(contentType: "font/woff2"))
        XCTAssertTrue(wide.compresses(contentType: "font/ttf"))
    }

    func testVariantRecordRoundTripsThroughTheStoreRecord() throws {
        let source = FileIdentity(device: 7, inode: 99, size: 20000, mtimeNanos: 1_700_000_000_123, isRegular: true, isDirectory: false)
        let body = FileIdentity(device: 7, inode: 120, size: 3000, mtimeNanos: 1_700_000_100_000, isRegular: true, isDirectory: false)
        let r = VariantRecord(sourceKey: "example.com/css/a.css", coding: .zstd, sourcePath: "/www/css/a.css", source: source,
                              bodyPath: "/cache/variants/x.zstd", body: body, contentType: "text/css", etag: "\"a-b-c-zstd\"",
                              insertedAtNanos: 42)
        let entry = r.entry
        XCTAssertEqual(entry.kind, .variant)
        XCTAssertEqual(entry.key, "example.com/css/a.css\u{0}zstd")
        XCTAssertEqual(entry.size, 3000)
        XCTAssertEqual(VariantRecord(entry), r)
        XCTAssertEqual(VariantExtra.displayKey(entry.key), "example.com/css/a.css [zstd]")
        var damaged = entry
        damaged.extra = Array("zstd\n/www/a.css\nx\n1\n2\n3".utf8)
        XCTAssertNil(VariantRecord(damaged))
        var mismatched = entry
        mismatched.key = "example.com/css/a.css\u{0}br"
        XCTAssertNil(VariantRecord(mismatched))
        var file = entry
        file.kind = .file
        XCTAssertNil(VariantRecord(file))
    }

    func testVariantETagIsTheIdentityTagWithTheCoding() {
        XCTAssertEqual(Variant.etag(base: "\"1f-4e20-abc\"", coding: .brotli), "\"1f-4e20-abc-br\"")
        XCTAssertEqual(Variant.etag(base: "\"1f-4e20-abc\"", coding: .gzip), "\"1f-4e20-abc-gzip\"")
    }
}
