import CapuchinServer
import CapuchinSystem
import Foundation
import XCTest
@testable import FileCache

/// The file cache with its small bodies in slabs.
final class SlabCacheTests: XCTestCase {
    /// Distinct contents of `size` bytes for file `i`.
    private func contents(_ i: Int, size: Int) -> String {
        let tag = "\(i):"
        return String((tag + String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: max(0, size))).prefix(size))
    }

    private func admit(_ cache: FileCache, _ dir: TempDir, _ i: Int, size: Int) throws {
        let p = dir.write("f\(i).txt", contents(i, size: size))
        _ = cache.admit(site: "s", path: "/f\(i).txt", file: try makeCandidate(p), worker: 0)
    }

    func testHitBodiesAreByteIdenticalInEverySizeClass() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig { $0.capacityBytes = 64 << 20; $0.capacityEntries = 10_000 })
        let sizes = [0, 1, 15, 63, 64, 65, 200, 499, 1000, 4095, 4096, 4097, 30_000, 65_535, 65_536, 65_537, 200_000]
        let mappingsBefore = MappedFile.fileMappings
        for (i, size) in sizes.enumerated() { try admit(cache, dir, i, size: size) }
        XCTAssertEqual(MappedFile.fileMappings - mappingsBefore, 2, "only the two files over 64 KiB are mapped")
        for (i, size) in sizes.enumerated() {
            let e = try XCTUnwrap(cache.lookup(site: "s", path: "/f\(i).txt", worker: 0), "size \(size)")
            XCTAssertEqual(body(of: e), contents(i, size: size), "size \(size)")
            XCTAssertEqual(e.mapping?.count, size)
            XCTAssertEqual(e.mapping?.source == nil, size <= FileCache.snapshotLimit, "a copy, or a mapping of the file: \(size)")
        }
        let s = cache.slabs.statistics()
        XCTAssertEqual(s.slotsInUse, sizes.filter { $0 <= FileCache.snapshotLimit }.count)
        XCTAssertEqual(s.requestedBytes, sizes.filter { $0 <= FileCache.snapshotLimit }.reduce(0, +))
    }

    func testEvictionReturnsTheSlabSpace() throws {
        let dir = TempDir()
        // 50 entries fit; 2,000 files of 100-500 bytes pass through.
        let cache = makeCache(testConfig { $0.capacityBytes = 50 * 1024; $0.capacityEntries = 50 })
        for i in 0..<2000 { try admit(cache, dir, i, size: 100 + (i * 53) % 400) }
        let st = cache.stats()
        XCTAssertGreaterThan(st.evictions, 1900)
        let s = cache.slabs.statistics()
        XCTAssertEqual(s.slotsInUse, st.entries, "an evicted entry's slot is free again")
        XCTAssertEqual(s.requestedBytes, st.bytes)
        XCTAssertLessThanOrEqual(s.pageBytes, cache.slabs.slotSizes.count * cache.slabs.pageSize,
                                 "freed slots are reused: no page more than one a class")
        XCTAssertEqual(cache.clear(), st.entries)
        XCTAssertEqual(cache.slabs.statistics().slotsInUse, 0, "a purge frees the slots too")
    }

    func testAPurgedEntryHeldByAResponseKeepsItsBytesUntilReleased() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig { $0.capacityBytes = 8 << 20; $0.capacityEntries = 5_000 })
        try admit(cache, dir, 0, size: 300)
        // A worker's writev may still be reading this entry's body.
        var response: MappedFile? = try XCTUnwrap(cache.lookup(site: "s", path: "/f0.txt", worker: 0)?.mapping)
        let address = response?.base
        XCTAssertNotNil(cache.purge(key: "s/f0.txt"))
        for i in 1...500 { try admit(cache, dir, i, size: 300) }  // the same size class
        for i in 1...500 {
            let e = try XCTUnwrap(cache.lookup(site: "s", path: "/f\(i).txt", worker: 0))
            XCTAssertNotEqual(e.mapping?.base, address, "slot \(i) was not handed out while referenced")
        }
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: response?.base, count: 300), as: UTF8.self),
                       contents(0, size: 300), "the response's bytes are intact")
        XCTAssertEqual(cache.slabs.statistics().slotsInUse, 501)
        response = nil
        XCTAssertEqual(cache.slabs.statistics().slotsInUse, 500, "freed with the last reference")
    }

    func testAChangedFileGetsANewSlotAndTheOldOneIsFreed() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig())
        let p = dir.write("a.txt", "first version")
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        dir.replaceByRename("a.txt", "second, longer version")
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        let e = try XCTUnwrap(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(body(of: e), "second, longer version")
        XCTAssertEqual(cache.slabs.statistics().slotsInUse, 1)
    }

    func testPrefixPurgeRemovesOnlyItsKeysAndFreesTheirSlots() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig { $0.capacityBytes = 8 << 20; $0.capacityEntries = 5_000 }, shards: 4)
        for i in 0..<500 {
            let sub = i < 300 ? "a" : "b"
            let p = dir.write("\(sub)/f\(i).txt", contents(i, size: 100 + i))
            _ = cache.admit(site: "s", path: "/\(sub)/f\(i).txt", file: try makeCandidate(p), worker: 0)
        }
        let removed = cache.purge(prefix: "s/a/")
        XCTAssertEqual(removed.count, 300)
        XCTAssertEqual(removed, removed.sorted())
        XCTAssertTrue(removed.allSatisfy { $0.hasPrefix("s/a/") })
        XCTAssertEqual(cache.stats().entries, 200)
        XCTAssertEqual(cache.slabs.statistics().slotsInUse, 200, "the purged entries' slots are free")
        XCTAssertNil(cache.lookup(site: "s", path: "/a/f7.txt", worker: 0))
        for i in 300..<500 {
            let e = try XCTUnwrap(cache.lookup(site: "s", path: "/b/f\(i).txt", worker: 0))
            XCTAssertEqual(body(of: e), contents(i, size: 100 + i))
        }
    }

    func testHottestPicksTheMostHitEntriesMostFirst() throws {
        let hits: [UInt64] = [5, 1, 9, 9, 0, 7, 3, 8, 2, 6]
        let entries = hits.enumerated().map { i, h in
            CacheEntry(key: "s/\(i)", originPath: "/x/\(i)",
                       identity: FileIdentity(device: 1, inode: UInt64(i), size: 1, mtimeNanos: 0, isRegular: true, isDirectory: false),
                       marksHits: true, contentType: "text/plain", mapping: nil, insertedAtNanos: 0,
                       accessCount: h, checkedAtNanos: 0, lastAccessNanos: 0)
        }
        XCTAssertEqual(FileCache.hottest(entries, count: 4).map(\.key), ["s/2", "s/3", "s/7", "s/5"], "ties keep their order")
        XCTAssertEqual(FileCache.hottest(entries, count: 20).map { $0.accessCount.load(ordering: .relaxed) },
                       hits.sorted(by: >))
        XCTAssertEqual(FileCache.hottest(entries, count: 0).count, 0)
    }
}
