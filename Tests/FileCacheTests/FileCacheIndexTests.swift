import CachePolicies
import CapuchinSystem
import XCTest
@testable import FileCache

final class FileCacheIndexTests: XCTestCase {
    func testMissAdmitHit() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "hello")
        let cache = makeCache(testConfig())
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0).outcome, .admitted)
        let e = try XCTUnwrap(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(body(of: e), "hello")
        XCTAssertNil(cache.lookup(site: "other", path: "/a.txt", worker: 0), "sites do not share entries")
        XCTAssertEqual(cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0).outcome, .alreadyCached)
        let s = cache.stats()
        XCTAssertEqual([s.hits, s.misses, s.admissions, s.revalidations], [1, 2, 1, 1])
        XCTAssertEqual(s.entries, 1)
        XCTAssertEqual(s.bytes, 5)
    }

    func testHeadersAreBuiltFromMetadata() throws {
        let dir = TempDir()
        let p = dir.write("a.css", "body{}")
        dir.setMtime("a.css", seconds: 784_111_777)
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.css", file: try makeCandidate(p, contentType: "text/css"), worker: 0)
        let e = try XCTUnwrap(cache.lookup(site: "s", path: "/a.css", worker: 0))
        let text = String(decoding: e.headerBytes(), as: UTF8.self)
        XCTAssertTrue(text.contains("Content-Type: text/css\r\n"))
        XCTAssertTrue(text.contains("Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"))
        XCTAssertTrue(text.contains("ETag: \(e.etag)\r\n"))
        XCTAssertTrue(text.contains("Accept-Ranges: bytes\r\nX-Cache: HIT\r\n"))
        let quiet = makeCache(testConfig { $0.xCacheHeader = false })
        _ = quiet.admit(site: "s", path: "/a.css", file: try makeCandidate(p, contentType: "text/css"), worker: 0)
        let q = try XCTUnwrap(quiet.lookup(site: "s", path: "/a.css", worker: 0))
        XCTAssertFalse(String(decoding: q.headerBytes(), as: UTF8.self).contains("X-Cache"))
    }

    func testRuleRejectionIsCounted() throws {
        let dir = TempDir()
        let p = dir.write("big.bin", String(repeating: "x", count: 200))
        let cache = makeCache(testConfig { $0.maxFileSize = 100 })
        XCTAssertEqual(cache.admit(site: "s", path: "/big.bin", file: try makeCandidate(p), worker: 3).outcome, .rejected(.tooLarge))
        XCTAssertNil(cache.lookup(site: "s", path: "/big.bin", worker: 3))
        XCTAssertEqual(cache.stats().rejectionsByRule, 1)
    }

    func testByteCapacityEvicts() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig { $0.capacityBytes = 250; $0.capacityEntries = 1000 })
        for i in 0..<3 {
            let p = dir.write("f\(i)", String(repeating: "x", count: 100))
            XCTAssertEqual(cache.admit(site: "s", path: "/f\(i)", file: try makeCandidate(p), worker: 0).outcome, .admitted)
        }
        let s = cache.stats()
        XCTAssertEqual(s.entries, 2)
        XCTAssertEqual(s.bytes, 200)
        XCTAssertEqual(s.evictions, 1)
        XCTAssertNil(cache.lookup(site: "s", path: "/f0", worker: 0), "the least recent file went first")
        XCTAssertNotNil(cache.lookup(site: "s", path: "/f2", worker: 0))
    }

    func testEntryCapacityEvicts() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig { $0.capacityBytes = 1 << 20; $0.capacityEntries = 3 })
        for i in 0..<5 {
            let p = dir.write("f\(i)", "tiny")
            _ = cache.admit(site: "s", path: "/f\(i)", file: try makeCandidate(p), worker: 0)
        }
        XCTAssertEqual(cache.stats().entries, 3)
        XCTAssertEqual(cache.stats().evictions, 2)
    }

    func testModifiedInPlaceIsNotServed() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "version one")
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        // Same size, other content, other mtime: only the mtime tells them apart.
        let fd = open(p, O_WRONLY)
        XCTAssertEqual(pwrite(fd, "VERSION ONE", 11, 0), 11)
        close(fd)
        dir.setMtime("a.txt", seconds: 1_000_000)
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(cache.stats().staleDrops, 1)
        XCTAssertEqual(cache.stats().entries, 0)
        XCTAssertEqual(cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0).outcome, .admitted)
        XCTAssertEqual(body(of: try XCTUnwrap(cache.lookup(site: "s", path: "/a.txt", worker: 0))), "VERSION ONE")
    }

    func testReplacedByRenameIsNotServed() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "old")
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        dir.replaceByRename("a.txt", "new")
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        XCTAssertEqual(body(of: try XCTUnwrap(cache.lookup(site: "s", path: "/a.txt", worker: 0))), "new")
    }

    func testDeletedIsNotServed() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "gone soon")
        let persistence = MemoryPersistence()
        let cache = makeCache(testConfig(), persistence: persistence)
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        XCTAssertEqual(try persistence.entries(prefix: nil).map(\.key), ["s/a.txt"])
        unlink(p)
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(try persistence.entries(prefix: nil).count, 0, "the drop reaches the store")
    }

    /// Admits a file of `size` bytes, truncates it, and writes the entry a
    /// response still holds into a pipe as the server does (writev): returns
    /// writev's result, errno and the bytes read back.
    private func writeHeldAfterTruncation(size: Int) throws -> (Int, Int32, [UInt8]) {
        let dir = TempDir()
        let p = dir.write("a.txt", String(repeating: "z", count: size))
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        let held = try XCTUnwrap(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(truncate(p, 0), 0)
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0), "a truncated file is not served")
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: held.mapping!.base), iov_len: 4096)
        let n = writev(fds[1], &iov, 1)
        let e = errno
        var back = [UInt8](repeating: 0, count: 4096)
        let r = n > 0 ? read(fds[0], &back, 4096) : 0
        return (n, e, Array(back.prefix(max(0, r))))
    }

    func testTruncatedSmallFileKeepsItsWholeSnapshot() throws {
        // Up to 64 KiB the body is a private copy: a response holding it sends the
        // whole old version, never the zeros a truncated mapping reads as.
        let (n, _, bytes) = try writeHeldAfterTruncation(size: 8192)
        XCTAssertEqual(n, 4096)
        XCTAssertEqual(bytes, Array(repeating: UInt8(ascii: "z"), count: 4096))
    }

    func testTruncatedLargeFileMappingFailsWithEFAULTNotSIGBUS() throws {
        // Larger bodies stay mapped: writing a truncated mapping fails with EFAULT
        // in the kernel instead of killing the server.
        let (n, e, _) = try writeHeldAfterTruncation(size: 256 << 10)
        XCTAssertEqual(n, -1)
        XCTAssertEqual(e, EFAULT)
    }

    func testRevalidateIntervalSkipsStat() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "abc")
        let cache = makeCache(testConfig { $0.revalidateInterval = 3600 })
        let before = Clock.preciseMonotonicNanos()
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0, observedSince: before)
        XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(cache.stats().revalidations, 0)
    }

    func testWithoutAnIntervalOneCheckServesTheRequestsReceivedBeforeIt() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "abc")
        let cache = makeCache(testConfig())
        let batch1 = Clock.preciseMonotonicNanos()
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0, observedSince: batch1)
        // The handler's fstat counts as the first check for requests of its batch.
        XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: 0, receivedBy: batch1))
        XCTAssertEqual(cache.stats().revalidations, 0)
        // A later batch: one stat, then none for the rest of that batch.
        let batch2 = Clock.preciseMonotonicNanos()
        XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: 0, receivedBy: batch2))
        XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: 1, receivedBy: batch2))
        XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: 0, receivedBy: batch1))
        XCTAssertEqual(cache.stats().revalidations, 1)
        // A change completed before a request arrived is always seen.
        _ = dir.write("a.txt", "abcd")
        let batch3 = Clock.preciseMonotonicNanos()
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0, receivedBy: batch3))
        XCTAssertEqual(cache.stats().revalidations, 2)
    }

    func testAnEntryAdmittedWithoutAnObservationTimeIsCheckedOnItsFirstHit() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "abc")
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        _ = dir.write("a.txt", "xyz!")
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0, receivedBy: 1), "changed since the handler's fstat")
    }

    func testTTLDropsOldEntries() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "abc")
        let cache = makeCache(testConfig { $0.ttl = 0.02 })
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        usleep(100_000)
        XCTAssertNil(cache.lookup(site: "s", path: "/a.txt", worker: 0))
        XCTAssertEqual(cache.stats().staleDrops, 1)
    }

    func testCountersAreSummedOverWorkers() throws {
        let dir = TempDir()
        let p = dir.write("a.txt", "abcd")
        let cache = makeCache(testConfig())
        _ = cache.admit(site: "s", path: "/a.txt", file: try makeCandidate(p), worker: 0)
        for w in 0..<8 {
            for _ in 0...w {
                XCTAssertNotNil(cache.lookup(site: "s", path: "/a.txt", worker: w))
                cache.countServed(bytes: 4, worker: w)
            }
            XCTAssertEqual(cache.counters[w].hits.load(ordering: .relaxed), UInt64(w + 1))
        }
        XCTAssertEqual(cache.stats().hits, 36)
        XCTAssertEqual(cache.stats().bytesServed, 144)
    }

    func testAdminPurgeAndListing() throws {
        let dir = TempDir()
        let persistence = MemoryPersistence()
        let cache = makeCache(testConfig(), persistence: persistence)
        for (i, name) in ["a/1", "a/2", "b/1", "b/2", "c"].enumerated() {
            _ = cache.admit(site: "s", path: "/" + name, file: try makeCandidate(dir.write(name, String(repeating: "x", count: 10 - i))), worker: 0)
            usleep(5000)   // distinct admission times (coarse clock)
        }
        for _ in 0..<3 { _ = cache.lookup(site: "s", path: "/b/2", worker: 0) }
        XCTAssertEqual(cache.topEntries(1).map(\.key), ["s/b/2"])
        let p1 = cache.entries(prefix: nil, sort: .key, limit: 2, offset: 0)
        XCTAssertEqual(p1.rows.map(\.key), ["s/a/1", "s/a/2"])
        XCTAssertEqual(p1.total, 5)
        XCTAssertEqual(cache.entries(prefix: nil, sort: .key, limit: 2, offset: 4).rows.map(\.key), ["s/c"])
        XCTAssertEqual(cache.entries(prefix: nil, sort: .key, limit: 2, offset: 9).rows.count, 0)
        XCTAssertEqual(cache.entries(prefix: "s/b", sort: .hits, limit: 10, offset: 0).rows.map(\.key), ["s/b/2", "s/b/1"])
        XCTAssertEqual(cache.entries(prefix: nil, sort: .age, limit: 1, offset: 0).rows.map(\.key), ["s/a/1"])
        XCTAssertEqual(cache.entries(prefix: nil, sort: .recent, limit: 1, offset: 0).rows.map(\.key), ["s/b/2"])
        XCTAssertEqual(cache.entries(prefix: "s/", sort: .size, limit: 1, offset: 0).rows.map(\.key), ["s/a/1"])
        XCTAssertEqual(cache.shed(fraction: 0.2), 1)
        XCTAssertNil(cache.purge(key: "s/a/1"), "shedding took the least recently used entry")
        _ = cache.admit(site: "s", path: "/a/1", file: try makeCandidate(dir.path + "/a/1"), worker: 0)
        XCTAssertEqual(cache.purge(key: "s/c")?.key, "s/c")
        XCTAssertNil(cache.purge(key: "s/c"))
        XCTAssertEqual(cache.purge(prefix: "s/a/"), ["s/a/1", "s/a/2"])
        XCTAssertEqual(try persistence.entries(prefix: nil).map(\.key), ["s/b/1", "s/b/2"])
        XCTAssertEqual(cache.clear(), 2)
        XCTAssertEqual(cache.stats().entries, 0)
        XCTAssertEqual(try persistence.entries(prefix: nil).count, 0)
    }

    func testShardCountKeepsFilesSmallAgainstAShard() {
        func shards(_ edit: (inout FileCacheConfig) -> Void) -> Int {
            var c = FileCacheConfig()
            edit(&c)
            return FileCache(config: c, persistence: nil, policyFactory: { makePolicy(.default, capacity: $0) }).shards.count
        }
        XCTAssertEqual(shards { _ in }, 2, "1 GiB, 8 MiB files: each shard >= 50 largest files")
        XCTAssertEqual(shards { $0.capacityBytes = 16 << 30 }, 32)
        XCTAssertEqual(shards { $0.capacityBytes = 16 << 30; $0.capacityEntries = 256 }, 4, ">= 64 entries per shard")
        XCTAssertEqual(shards { $0.capacityBytes = 1 << 20 }, 1)
    }

    func testDefaultPolicyAdmitsTheLargestAllowedFile() throws {
        let dir = TempDir()
        var c = FileCacheConfig()
        c.capacityBytes = 64 << 20
        c.maxFileSize = 1 << 20
        let cache = FileCache(config: c, persistence: nil, policyFactory: { makePolicy(.default, capacity: $0) })
        let p = dir.write("big", String(repeating: "b", count: 1 << 20))
        XCTAssertEqual(cache.admit(site: "s", path: "/big", file: try makeCandidate(p), worker: 0).outcome, .admitted)
    }
}
