import CapuchinServer
import XCTest
@testable import FileCache

final class FileCacheConfigTests: XCTestCase {
    private func parse(_ cacheSection: String) throws -> FileCacheConfig {
        let text = "sites:\n  - root: /tmp\n    default: true\ncache:\n" + cacheSection
        let config = try ConfigLoader.parse(text, file: "test.yaml")
        return try FileCacheConfig(section: config.section(for: "cache"))
    }

    private func error(_ cacheSection: String) -> ConfigError? {
        do { _ = try parse(cacheSection); return nil } catch { return error as? ConfigError }
    }

    func testDefaultsAndValues() throws {
        XCTAssertEqual(try FileCacheConfig(section: .empty(file: "x", path: "cache")), FileCacheConfig())
        let c = try parse("""
          enabled: true
          policy: lfu
          capacity_bytes: 64m
          capacity_entries: 5000
          min_file_size: 1
          max_file_size: 2m
          include_extensions: [.CSS, js]
          exclude_extensions: map
          include_types: [text/, image/]
          include_globs: ["/static/**"]
          exclude_globs: ["*.tmp"]
          ttl: 1h
          revalidate_interval: 500ms
          x_cache_header: false
          cache_dir: /var/cache/capuchin
          commit_interval_ms: 50
          durability: sync
          warm_eager_entries: 10
        """)
        XCTAssertEqual(c.policy, "lfu")
        XCTAssertEqual(c.capacityBytes, 64 << 20)
        XCTAssertEqual(c.maxFileSize, 2 << 20)
        XCTAssertEqual(c.includeExtensions, ["css", "js"])
        XCTAssertEqual(c.excludeExtensions, ["map"])
        XCTAssertEqual(c.includeGlobs, [GlobPattern("/static/**")])
        XCTAssertEqual(c.ttl, 3600)
        XCTAssertEqual(c.revalidateInterval, 0.5)
        XCTAssertFalse(c.xCacheHeader)
        XCTAssertEqual(c.cacheDir, "/var/cache/capuchin")
        XCTAssertEqual(c.durability, .sync)
        XCTAssertEqual(c.warmEagerEntries, 10)
    }

    func testErrorsNameTheKey() {
        XCTAssertEqual(error("  capacity_entrys: 5\n")?.key, "cache.capacity_entrys")
        XCTAssertEqual(error("  capacity_entrys: 5\n")?.message, "unknown key")
        XCTAssertEqual(error("  policy: fifo\n")?.key, "cache.policy")
        XCTAssertEqual(error("  max_file_size: lots\n")?.key, "cache.max_file_size")
        XCTAssertEqual(error("  min_file_size: 2m\n  max_file_size: 1m\n")?.key, "cache.min_file_size")
        XCTAssertEqual(error("  enabled: maybe\n")?.key, "cache.enabled")
        XCTAssertEqual(error("  include_extensions: [\".\"]\n")?.key, "cache.include_extensions")
        XCTAssertEqual(error("  dir: /a\n  cache_dir: /b\n")?.key, "cache.cache_dir")
        XCTAssertEqual(error("  commit_interval_ms: 0\n")?.key, "cache.commit_interval_ms")
        XCTAssertEqual(error("  durability: maybe\n")?.file, "test.yaml")
    }
}
