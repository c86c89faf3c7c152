import CachePolicies
import CapuchinServer
import CapuchinSystem
import Foundation
import Glibc
import XCTest
@testable import FileCache

/// What a resident entry costs beside its body (issue 16: at most about 256
/// bytes of index and policy state). Measured from the allocator's own count
/// (`mallinfo2`: bytes in use in every arena) around admitting N small files
/// with the default policy, and broken down by object, so a field added to
/// the entry shows up here as bytes, not as a surprise at a million entries.
final class EntryMemoryTests: XCTestCase {
    private static let count = 20_000

    /// Glibc's `mallinfo2` and `malloc_usable_size`, which its Swift module
    /// does not declare (malloc.h is not in it), looked up at run time.
    private typealias MallinfoSret = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
    private typealias UsableSize = @convention(c) (UnsafeMutableRawPointer?) -> Int

    private static func symbol<T>(_ name: String, as: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let s = dlsym(handle, name) else { return nil }
        return unsafeBitCast(s, to: T.self)
    }

    /// Bytes in use in every arena (`mallinfo2().uordblks`, the 8th of its ten
    /// size_t fields). The struct is returned through a hidden pointer (x86-64
    /// SysV: in rdi, which is the first argument here).
    private func heapInUse() throws -> Int {
        #if arch(x86_64)
        let f = try XCTUnwrap(Self.symbol("mallinfo2", as: MallinfoSret.self))
        var info = [Int](repeating: 0, count: 10)
        info.withUnsafeMutableBytes { _ = f($0.baseAddress!) }
        return info[7]
        #else
        throw XCTSkip("mallinfo2 is called through the x86-64 return convention")
        #endif
    }

    private func cap_malloc_usable_size(_ p: UnsafeMutableRawPointer) -> Int {
        Self.symbol("malloc_usable_size", as: UsableSize.self)!(p)
    }

    /// The allocator's chunk for `object` (its usable size plus the 8-byte header).
    private func chunk(_ object: AnyObject) -> Int {
        cap_malloc_usable_size(Unmanaged.passUnretained(object).toOpaque()) + 8
    }

    /// The chunk of a string's heap storage; 0 when it is held inline or shared (interned).
    private func chunk(_ s: String) -> Int {
        guard s.utf8.count > 15 else { return 0 }
        var copy = s
        return copy.withUTF8 { b in
            // Native storage: the object header (32 bytes) precedes the bytes.
            cap_malloc_usable_size(UnsafeMutableRawPointer(mutating: b.baseAddress! - 32)) + 8
        }
    }

    func testAResidentSmallFileCostsItsSlotPlusAtMostAboutAQuarterKilobyte() throws {
        let dir = TempDir()
        let n = Self.count
        // The layout scale.py uses: a thousand files a directory, 100-500 bytes each.
        var paths: [String] = []
        paths.reserveCapacity(n)
        for i in 0..<n {
            let rel = "d\(String(format: "%04d", i / 1000))/f\(i).txt"
            let full = dir.path + "/" + rel
            if i % 1000 == 0 { try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true) }
            let size = 100 + (i * 37) % 401
            let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            XCTAssertGreaterThanOrEqual(fd, 0)
            let bytes = [UInt8](repeating: UInt8(97 + i % 26), count: size)
            XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, size) }, size)
            close(fd)
            paths.append(rel)
        }
        var config = FileCacheConfig()
        config.capacityEntries = 1_000_000
        config.capacityBytes = 1 << 30
        config.warmEagerEntries = 0
        // Shards as production picks them (the policy's tables are per shard).
        let cache = FileCache(config: config, persistence: nil, workers: 8,
                              policyFactory: { makePolicy(.default, capacity: $0) })
        let heapBefore = try heapInUse()
        for rel in paths {
            let full = dir.path + "/" + rel
            let file = try OpenFile(path: full)
            let id = try file.identity()
            let outcome = cache.admit(site: "127.0.0.1", path: "/" + rel,
                                      file: CandidateFile(path: full, file: file, identity: id,
                                                          contentType: "text/plain; charset=utf-8",
                                                          etag: StaticFilePlugin.etag(id)), worker: 0).outcome
            XCTAssertEqual(outcome, .admitted)
        }
        let heapPerEntry = Double(try heapInUse() - heapBefore) / Double(n)
        let slabs = cache.slabs.statistics()
        XCTAssertEqual(slabs.slotsInUse, n)

        // The breakdown, from one entry (all are alike but for their lengths).
        let e = try XCTUnwrap(cache.lookup(site: "127.0.0.1", path: "/" + paths[n / 2], worker: 0))
        let mapping = try XCTUnwrap(e.mapping)
        XCTAssertTrue(mapping === e, "the entry is its own body: no second object")
        XCTAssertNil(mapping.source, "a small file is a copy in a slot")
        let entries = cache.shards.reduce(0) { $0 + $1.state.withLock { $0.entries.count } }
        let buckets = cache.shards.reduce(0) { $0 + $1.state.withLock { $0.entries.bucketCount } }
        let parts: [(String, Int)] = [
            ("entry object", chunk(e)),
            ("key bytes (malloc'ed, behind their count)", cap_malloc_usable_size(e.keyStorage) + 8),
            ("content type (an interned box)", 0),
            ("origin path (an interned head and the key's last bytes)", chunk(e.originHead) / max(1, n)),
            ("entity tag (derived on a hit)", 0),
            ("body object (the entry itself)", mapping === e ? 0 : chunk(mapping)),
            ("index table buckets (16 B a bucket, at most 3/4 full)", 16 * buckets / max(1, entries)),
        ]
        let named = parts.reduce(0) { $0 + $1.1 }
        var report = "per entry, \(n) entries of 100-500 bytes, \(cache.shards.count) shards:\n"
        for (what, bytes) in parts { report += "  \(what): \(bytes) B\n" }
        report += "  policy state and the rest (measured total less the above): \(Int(heapPerEntry) - named) B\n"
        report += "  heap in use: \(Int(heapPerEntry)) B\n"
        report += "  slab: \(slabs.slotBytes / n) B in slots for \(slabs.requestedBytes / n) B of bodies (\(slabs.pageBytes / n) B mapped at this count)\n"
        print(report)
        // Index and policy state. The issue asks at most about 256 bytes beside the
        // body; measured 672 before the origin path and entity tag were derived,
        // 320 after this and the key kept as bytes, 256 with the entry its own
        // body (one object of 144 B instead of 144 + a 64 B MappedFile; the key,
        // the dictionary and the policy's node remain: see ARCHITECTURE
        // "Memory"). Bounds against regressions, lowered as items go: the
        // objects counted one by one exactly, the allocator's total loosely
        // (other tests' threads in this process allocate meanwhile). The index
        // was counted by its capacity until session 12, a quarter short of its
        // buckets (the Dictionary's as the HashKeyedTable's that replaced it,
        // which has as many): 216 counted so is 218 counted by buckets.
        XCTAssertLessThanOrEqual(named, 218, report)
        XCTAssertLessThanOrEqual(heapPerEntry, 400, report)
    }
}
