import CSystemShims
import Glibc
import Synchronization

/// Small bodies packed into large anonymous mappings by size class, as
/// memcached's slabs: a copy of a 300-byte file costs one slot of a 1 MiB
/// page instead of a whole mapping rounded up to 4 KiB, so the number of
/// cached files is bounded by memory, not by `vm.max_map_count`.
///
/// A slot is owned by one `MappedFile` (`MappedFile(copyOf:count:into:)`, or
/// a cache entry that is its own body),
/// and goes back to its class's free list only in that object's deinit: a
/// response still being written on some worker holds the object, so its slot
/// can never be handed out again while the kernel may still read it (ARC is
/// the reference count; no epochs needed). A page whose slots are all free is
/// unmapped, except one spare per class kept against map/unmap churn.
///
/// Thread-safe: one lock per size class (allocations of different sizes never
/// contend; a free takes its slot's class lock once).
public final class SlabAllocator: Sendable {
    public let pageSize: Int
    /// Slot sizes, ascending: multiples of 16, each about `growth` times the
    /// last, the last one the largest request the allocator serves.
    public let slotSizes: [Int]
    let classes: [SlabClass]
    /// Bytes of pages mapped now, over every class (read without the classes' locks).
    let mapped: MappedBytes

    /// - Parameters:
    ///   - largest: the largest request served (nil beyond it: the caller maps the file).
    ///   - smallest: the first class's slot size.
    ///   - growth: each class's slot is about this much larger than the last
    ///     (internal waste is below `1 - 1/growth` of a slot).
    ///   - pageSize: bytes mapped at a time for a class (at least one slot).
    public init(largest: Int, smallest: Int = 64, growth: Double = 1.25, pageSize: Int = 1 << 20) {
        precondition(smallest >= 16 && growth > 1 && largest >= smallest, "bad slab classes")
        var sizes: [Int] = []
        var s = Double(smallest)
        while true {
            let size = min((Int(s.rounded(.up)) + 15) & ~15, (largest + 15) & ~15)
            if sizes.last != size { sizes.append(size) }
            if size >= largest { break }
            s = max(s * growth, Double(size + 16))
        }
        slotSizes = sizes
        self.pageSize = pageSize
        let mapped = MappedBytes()
        self.mapped = mapped
        classes = sizes.map { SlabClass(slotSize: $0, pageSize: max(pageSize, $0), mapped: mapped) }
    }

    /// The largest request `allocate` serves.
    public var largestSlot: Int { slotSizes[slotSizes.count - 1] }

    /// Bytes of pages mapped now (one atomic load: cheap enough for a check
    /// before each copy, where `statistics()` takes every class's lock).
    public var mappedBytes: Int { mapped.bytes.load(ordering: .relaxed) }

    /// The index of the smallest class whose slots hold `count` bytes.
    func classIndex(for count: Int) -> Int? {
        var lo = 0, hi = slotSizes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if slotSizes[mid] >= count { hi = mid } else { lo = mid + 1 }
        }
        return lo < slotSizes.count ? lo : nil
    }

    /// A free slot of at least `count` bytes; nil when `count` exceeds the
    /// largest class. The caller must hand it to exactly one owner that frees
    /// it once (`MappedFile(slot:offset:count:)`). Throws `SystemError` when
    /// a page cannot be mapped (ENOMEM).
    public func allocate(_ count: Int) throws -> SlabSlot? {
        guard let c = classIndex(for: max(1, count)) else { return nil }
        return try classes[c].allocate(requested: count)
    }

    /// Occupancy and waste, summed over the classes.
    public func statistics() -> SlabStatistics {
        var s = SlabStatistics()
        for c in classes {
            c.state.withLock { st in
                s.pages += st.pages
                s.slotsInUse += st.slotsInUse
                s.slotBytes += st.slotsInUse * c.slotSize
                s.requestedBytes += st.requestedBytes
            }
        }
        s.pageBytes = classes.reduce(0) { total, c in total + c.state.withLock { $0.pages } * c.pageSize }
        return s
    }
}

/// What a `SlabAllocator` holds: `requestedBytes <= slotBytes <= pageBytes`.
public struct SlabStatistics: Sendable, Equatable {
    /// Pages mapped, and their bytes.
    public var pages = 0
    public var pageBytes = 0
    public var slotsInUse = 0
    /// Bytes of the slots in use, and of the requests they hold (the
    /// difference is the size classes' rounding).
    public var slotBytes = 0
    public var requestedBytes = 0

    public init() {}

    /// Mapped bytes not holding requested bytes, as a fraction of the mapped bytes (0 when empty).
    public var wasteFraction: Double { pageBytes == 0 ? 0 : Double(pageBytes - requestedBytes) / Double(pageBytes) }
}

/// One slot of a slab page: freed once, by its owner.
public struct SlabSlot: @unchecked Sendable { // safe: the page's mutable state is only touched under its class's lock
    let page: SlabPage
    let index: Int32
    let requested: Int32

    /// The slot's first byte (its owner writes the body here before publishing it).
    public var base: UnsafeMutableRawPointer { page.base + Int(index) * page.owner.slotSize }
    public var capacity: Int { page.owner.slotSize }

    /// Returns the slot to its class's free list. Call once, when nothing reads it any more.
    func free() { page.owner.free(self) }
}

/// One mapping of a class: slots handed out from a bump index first, then
/// from the chain of freed slots (each free slot's first 4 bytes hold the next).
final class SlabPage: @unchecked Sendable { // safe: the vars are only touched under `owner.state`'s lock
    let base: UnsafeMutableRawPointer
    let owner: SlabClass
    let slotCount: Int32
    var freeHead: Int32 = -1
    var bump: Int32 = 0
    var used: Int32 = 0
    /// Position in the owner's list of pages with free slots, or -1.
    var partialIndex = -1

    init(base: UnsafeMutableRawPointer, owner: SlabClass) {
        self.base = base
        self.owner = owner
        slotCount = Int32(owner.pageSize / owner.slotSize)
    }

    deinit { munmap(base, owner.pageSize) }

    var hasFreeSlot: Bool { freeHead >= 0 || bump < slotCount }

    /// The first byte of the slot `p` points into.
    func slotBase(of p: UnsafeRawPointer) -> UnsafeRawPointer {
        let size = owner.slotSize
        return UnsafeRawPointer(base) + (p - UnsafeRawPointer(base)) / size * size
    }

    /// The slot whose bytes at `p` were handed to their owner as `count`
    /// bytes ending its request (`MappedFile(slot:offset:count:)`, `p` inside
    /// the slot): the index and request are derived, not kept by the owner.
    func slot(holding p: UnsafeRawPointer, count: Int) -> SlabSlot {
        let offset = p - UnsafeRawPointer(base)
        let index = offset / owner.slotSize
        return SlabSlot(page: self, index: Int32(index), requested: Int32(offset - index * owner.slotSize + count))
    }

    func take() -> Int32 {
        used += 1
        if freeHead >= 0 {
            let s = freeHead
            freeHead = (base + Int(s) * owner.slotSize).load(as: Int32.self)
            return s
        }
        bump += 1
        return bump - 1
    }

    func put(_ s: Int32) {
        (base + Int(s) * owner.slotSize).storeBytes(of: freeHead, as: Int32.self)
        freeHead = s
        used -= 1
    }
}

/// The pages of one slot size.
final class SlabClass: Sendable {
    struct State {
        /// Pages with at least one free slot; allocation takes the last.
        var partial: [SlabPage] = []
        var pages = 0
        var slotsInUse = 0
        var requestedBytes = 0
    }

    let slotSize: Int
    let pageSize: Int
    let state = Lock(State())
    /// The allocator's bytes of pages mapped, over all classes.
    let mapped: MappedBytes

    init(slotSize: Int, pageSize: Int, mapped: MappedBytes = MappedBytes()) {
        self.slotSize = slotSize
        self.pageSize = pageSize
        self.mapped = mapped
    }

    func allocate(requested: Int) throws -> SlabSlot {
        try state.withLock { st in
            if st.partial.isEmpty {
                let p = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                guard p != MAP_FAILED, let p else { throw SystemError(call: "mmap", errno: cap_errno()) }
                let page = SlabPage(base: p, owner: self)
                page.partialIndex = 0
                st.partial.append(page)
                st.pages += 1
                mapped.bytes.add(pageSize, ordering: .relaxed)
            }
            let page = st.partial[st.partial.count - 1]
            let s = page.take()
            if !page.hasFreeSlot { Self.removePartial(page, from: &st) }
            st.slotsInUse += 1
            st.requestedBytes += requested
            return SlabSlot(page: page, index: s, requested: Int32(requested))
        }
    }

    func free(_ slot: SlabSlot) {
        // The page is released after the lock: its deinit unmaps it.
        var released: SlabPage?
        state.withLock { st in
            let page = slot.page
            page.put(slot.index)
            st.slotsInUse -= 1
            st.requestedBytes -= Int(slot.requested)
            if page.partialIndex < 0 {
                page.partialIndex = st.partial.count
                st.partial.append(page)
            }
            // An empty page goes back to the system unless it is the class's only one with room.
            if page.used == 0 && st.partial.count > 1 {
                Self.removePartial(page, from: &st)
                st.pages -= 1
                mapped.bytes.subtract(pageSize, ordering: .relaxed)
                released = page
            }
        }
        _ = released
    }

    private static func removePartial(_ page: SlabPage, from st: inout State) {
        let i = page.partialIndex
        let last = st.partial.removeLast()
        if last !== page {
            st.partial[i] = last
            last.partialIndex = i
        }
        page.partialIndex = -1
    }
}

/// The bytes of pages an allocator's classes have mapped, shared by them.
final class MappedBytes: Sendable {
    let bytes = Atomic<Int>(0)
}
