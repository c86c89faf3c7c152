import CapuchinSystem
import Foundation
import Glibc
import XCTest

/// The slab allocator under the file cache's small bodies.
final class SlabAllocatorTests: XCTestCase {
    /// A slot of `count` bytes owned by a MappedFile (as the cache holds one), filled with `byte`.
    private func owned(_ a: SlabAllocator, _ count: Int, byte: UInt8 = 0) throws -> MappedFile {
        let slot = try XCTUnwrap(try a.allocate(count))
        slot.base.initializeMemory(as: UInt8.self, repeating: byte, count: count)
        return MappedFile(slot: slot, offset: 0, count: count)
    }

    func testSizeClassesGrowByTheFactorUpToTheLargest() throws {
        let a = SlabAllocator(largest: 65_536)
        let sizes = a.slotSizes
        XCTAssertEqual(sizes.first, 64)
        XCTAssertEqual(sizes.last, 65_536)
        XCTAssertEqual(a.largestSlot, 65_536)
        for (small, large) in zip(sizes, sizes.dropFirst()) {
            XCTAssertEqual(large % 16, 0)
            XCTAssertGreaterThan(large, small)
            // At most the factor plus the 16-byte rounding: waste < 20% of a slot (+16 B).
            XCTAssertLessThanOrEqual(Double(large), Double(small) * 1.25 + 16, "\(small) -> \(large)")
        }
        XCTAssertLessThan(sizes.count, 40, "a few dozen classes: \(sizes)")
        XCTAssertNil(try a.allocate(65_537), "larger requests are the caller's (it maps the file)")
        for request in [1, 64, 65, 100, 300, 4097, 65_536] {
            let slot = try XCTUnwrap(try a.allocate(request))
            XCTAssertGreaterThanOrEqual(slot.capacity, request)
            XCTAssertEqual(slot.capacity, sizes.first { $0 >= request }, "the smallest class that holds \(request)")
            _ = MappedFile(slot: slot, offset: 0, count: request)
        }
        XCTAssertEqual(a.statistics().slotsInUse, 0, "each owner freed its slot")
    }

    func testAFreedSlotIsReusedAndAnEmptyPageReturned() throws {
        let a = SlabAllocator(largest: 1024, pageSize: 4096)
        let slotSize = try XCTUnwrap(a.slotSizes.first { $0 >= 200 })
        var held = try (0..<64).map { try owned(a, 200, byte: UInt8($0)) }
        var s = a.statistics()
        XCTAssertEqual(s.slotsInUse, 64)
        XCTAssertEqual(s.pages, (64 + 4096 / slotSize - 1) / (4096 / slotSize))
        XCTAssertEqual(s.requestedBytes, 64 * 200)
        XCTAssertEqual(s.slotBytes, 64 * slotSize)
        let freedBase = held[10].base
        held.remove(at: 10)
        let reused = try owned(a, 190)
        XCTAssertEqual(reused.base, freedBase, "the freed slot is handed out again")
        for (i, m) in held.enumerated() {
            let want = UInt8(i < 10 ? i : i + 1)
            XCTAssertTrue(UnsafeRawBufferPointer(start: m.base, count: 200).allSatisfy { $0 == want }, "slot \(i) untouched")
        }
        held.removeAll()
        s = a.statistics()
        XCTAssertEqual(s.slotsInUse, 1)
        XCTAssertEqual(s.pages, 1, "pages whose slots are all free are unmapped")
        _ = reused
    }

    func testASlotStillReferencedIsNeverReused() throws {
        let a = SlabAllocator(largest: 1024, pageSize: 4096)
        var entry: MappedFile? = try owned(a, 500, byte: 0xAB)
        // A response being written elsewhere holds the body; the cache drops its entry.
        let response = try XCTUnwrap(entry)
        let address = response.base
        entry = nil
        let others = try (0..<100).map { _ in try owned(a, 500, byte: 0xCD) }
        XCTAssertFalse(others.contains { $0.base == address }, "not handed out while referenced")
        XCTAssertTrue(UnsafeRawBufferPointer(start: response.base, count: 500).allSatisfy { $0 == 0xAB },
                      "the held bytes are intact")
        XCTAssertEqual(a.statistics().slotsInUse, 101)
        _ = others
    }

    func testTheLastReferenceFreesTheSlot() throws {
        let a = SlabAllocator(largest: 1024, pageSize: 4096)
        var body: MappedFile? = try owned(a, 500)
        var extra = body
        body = nil
        XCTAssertEqual(a.statistics().slotsInUse, 1, "one reference left")
        XCTAssertNotNil(extra)
        extra = nil
        XCTAssertEqual(a.statistics().slotsInUse, 0)
        XCTAssertEqual(a.statistics().requestedBytes, 0)
    }

    func testFragmentationIsMeasuredAndBounded() throws {
        let a = SlabAllocator(largest: 1024, pageSize: 4096)
        let perPage = 4096 / (try XCTUnwrap(a.slotSizes.first { $0 >= 250 }))
        var held = try (0..<10 * perPage).map { _ in try owned(a, 250) }
        XCTAssertEqual(a.statistics().pages, 10)
        // Keep one slot a page: ten pages mapped for ten slots.
        held = held.enumerated().filter { $0.offset % perPage == 0 }.map(\.element)
        var s = a.statistics()
        XCTAssertEqual(s.slotsInUse, 10)
        XCTAssertEqual(s.pageBytes, 10 * 4096)
        XCTAssertGreaterThan(s.wasteFraction, 0.9, "sparse pages show as waste")
        // New allocations fill the holes before any page is added.
        let refill = try (0..<10 * (perPage - 1)).map { _ in try owned(a, 250) }
        s = a.statistics()
        XCTAssertEqual(s.pages, 10, "holes are reused before a page is mapped")
        XCTAssertLessThan(s.wasteFraction, 0.1, "full pages: only the classes' rounding")
        XCTAssertEqual(s.requestedBytes, 10 * perPage * 250)
        _ = (held, refill)
    }

    func testEmptyPagesAreReleasedDownToOneSparePerClass() throws {
        let a = SlabAllocator(largest: 4096, pageSize: 8192)
        var held: [MappedFile] = []
        for size in [100, 700, 3000] { held += try (0..<50).map { _ in try owned(a, size) } }
        XCTAssertGreaterThan(a.statistics().pages, 10)
        held.removeAll()
        let s = a.statistics()
        XCTAssertEqual(s.slotsInUse, 0)
        XCTAssertEqual(s.requestedBytes, 0)
        XCTAssertLessThanOrEqual(s.pages, 3, "at most one empty page kept per class used")
    }

    func testConcurrentAllocationsAndFreesLoseNoSlot() throws {
        let a = SlabAllocator(largest: 2048, pageSize: 16_384)
        let threads = try (0..<4).map { t in
            try SystemThread(name: "slabs-\(t)") {
                var mine: [MappedFile] = []
                for i in 0..<20_000 {
                    let size = 64 + (i * 37 + t * 11) % 1900
                    let slot = try! a.allocate(size)!
                    slot.base.initializeMemory(as: UInt8.self, repeating: UInt8(t), count: size)
                    mine.append(MappedFile(slot: slot, offset: 0, count: size))
                    if mine.count > 64 {
                        let victim = mine.remove(at: (i * 7) % mine.count)
                        precondition(UnsafeRawBufferPointer(start: victim.base, count: victim.count).allSatisfy { $0 == UInt8(t) },
                                     "another thread wrote into a slot this one owns")
                    }
                }
            }
        }
        threads.forEach { $0.join() }
        let s = a.statistics()
        XCTAssertEqual(s.slotsInUse, 0)
        XCTAssertEqual(s.requestedBytes, 0)
        XCTAssertLessThanOrEqual(s.pages, a.slotSizes.count, "one spare page per class at most")
    }

    func testCopyOfAFileKeepsItsPrefixAndFreesTheSlotWhenTheFileIsShort() throws {
        let path = NSTemporaryDirectory() + "slab-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data("hello, slabs".utf8))
        defer { unlink(path) }
        let file = try OpenFile(path: path)
        let a = SlabAllocator(largest: 1024, pageSize: 4096)
        let head = Array("HEAD\r\n".utf8)
        let copy = try XCTUnwrap(try MappedFile(copyOf: file.descriptor, count: 12, after: head, into: a))
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: copy.base, count: copy.count), as: UTF8.self), "hello, slabs")
        XCTAssertEqual(copy.prefix(head.count), head)
        XCTAssertNil(copy.source, "a copy does not follow its file")
        XCTAssertThrowsError(try MappedFile(copyOf: file.descriptor, count: 100, into: a)) { error in
            XCTAssertTrue(error is ConditionFailure, "\(error)")
        }
        XCTAssertNil(try MappedFile(copyOf: file.descriptor, count: 2000, into: a), "too large for a slot")
        XCTAssertEqual(a.statistics().slotsInUse, 1, "the failed copy's slot was freed")
    }
}
