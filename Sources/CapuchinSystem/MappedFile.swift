import CSystemShims
import Glibc
import Synchronization

/// A read-only private mapping of a whole file. The bytes are never touched in
/// user space by the server (only handed to writev), so a file truncated under
/// the mapping yields EFAULT from the kernel rather than SIGBUS.
/// Or a copy held in a slot of a `SlabAllocator`, owned by this object: the
/// slot is freed in deinit, so never while a response still holds the object.
///
/// Open so that an object holding one body (a cache entry) can be its body:
/// a million resident entries then cost one heap object each instead of two
/// (48 B an entry, EntryMemoryTests). Three words: the slot's index and size
/// are derived from `base` and its page.
open class MappedFile: @unchecked Sendable { // safe: lets but `owner` (moved only out of an unshared object, `init(adopting:)`); the mapping is read-only (kernel reads it in writev) and unmapped in deinit
    public let base: UnsafeRawPointer?
    public let count: Int
    private var owner: Owner

    /// What frees `base` (one word: the payloads' spare bits hold the case).
    private enum Owner {
        /// Nothing (no bytes, or moved to another object).
        case none
        /// A mapping of its own (unmapped in deinit).
        case mapping
        /// A mapping of its own, of the file at this path and version.
        case file(Origin)
        /// A slot of this page (freed in deinit).
        case slab(SlabPage)
        /// One of the above, with an immutable file of the same bytes kept open (rare: compressed variants).
        case kept(Kept)
    }

    private final class Kept {
        let owner: Owner
        let file: OpenFile
        init(_ owner: Owner, _ file: OpenFile) { self.owner = owner; self.file = file }
    }

    /// `owner`, with `file` kept beside it when there is one.
    private static func owner(_ owner: Owner, keeping file: OpenFile?) -> Owner {
        guard let file else { return owner }
        return .kept(Kept(owner, file))
    }

    /// What frees `base`, whether or not a file is kept beside it.
    private var bytesOwner: Owner {
        if case .kept(let k) = owner { return k.owner }
        return owner
    }

    /// A file holding these same bytes that never changes (a compressed
    /// variant the server wrote: temporary + rename, never rewritten): a plain
    /// socket sends it with sendfile rather than copying from memory (an origin
    /// file is never given here: one truncated under sendfile sends short).
    @inline(__always)
    public final var immutableFile: OpenFile? {
        if case .kept(let k) = owner { return k.file }
        return nil
    }

    private final class Origin: Sendable {
        let path: String
        let identity: FileIdentity
        init(_ path: String, _ identity: FileIdentity) { self.path = path; self.identity = identity }
    }

    /// Mappings this process holds through MappedFile now (of files, or
    /// snapshots; not slab copies): each is one entry of the kernel's map
    /// table, which `vm.max_map_count` bounds.
    public static var fileMappings: Int { liveFileMappings.load(ordering: .relaxed) }
    private static let liveFileMappings = Atomic<Int>(0)

    /// The path and version mapped, when a send that spans several writes must
    /// stop once the file changed (else the client gets a mix of two versions).
    public final var source: (path: String, identity: FileIdentity)? {
        if case .file(let o) = bytesOwner { return (o.path, o.identity) }
        return nil
    }

    /// Takes over `other`'s bytes, which it no longer frees: `other` must be
    /// unshared (just made) and not used afterwards.
    public init(adopting other: MappedFile) {
        base = other.base
        count = other.count
        owner = other.owner
        other.owner = .none
    }

    /// No bytes yet: `count` only records a size (`base` is nil).
    public init(unmappedCount count: Int) {
        base = nil
        self.count = count
        owner = .none
    }

    /// Maps `count` bytes of the open descriptor `fd` (which the caller keeps or closes).
    /// Throws `SystemError` with mmap's errno.
    public convenience init(fd: FileDescriptor, count: Int, source: (path: String, identity: FileIdentity)? = nil,
                            immutableFile: OpenFile? = nil) throws {
        try self.init(fd: fd.rawValue, count: count, source: source, immutableFile: immutableFile)
    }

    /// A private copy of the first `count` bytes of `fd`: see the raw-descriptor form.
    public convenience init(snapshotOf fd: FileDescriptor, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        try self.init(snapshotOf: fd.rawValue, count: count, source: source)
    }

    /// Transitional (raw descriptor): used by Engine and FileCachePlugin until they move to `FileDescriptor`.
    public init(fd: Int32, count: Int, source: (path: String, identity: FileIdentity)? = nil, immutableFile: OpenFile? = nil) throws {
        self.count = count
        if count == 0 { base = nil; owner = .none; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED { throw SystemError(call: "mmap", errno: cap_errno()) }
        base = UnsafeRawPointer(p)
        owner = Self.owner(source.map { .file(Origin($0.path, $0.identity)) } ?? .mapping, keeping: immutableFile)
        Self.liveFileMappings.wrappingAdd(1, ordering: .relaxed)
    }

    /// A private copy of the first `count` bytes of `fd` in anonymous memory: a
    /// snapshot no later change to the file shows through (a file truncated
    /// between a hit's revalidation and its writev read as zeros from a file
    /// mapping: the soak found 3 such bodies in 641,632). Throws `SystemError`
    /// (mmap's or pread's errno), `ConditionFailure` when the file is shorter than `count`.
    public init(snapshotOf fd: Int32, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        self.count = count
        if count == 0 { base = nil; owner = .none; return }
        let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if p == MAP_FAILED { throw SystemError(call: "mmap", errno: cap_errno()) }
        guard let p else { throw SystemError(call: "mmap", code: .noMemory) }
        var got = 0
        while got < count {
            let n: Int
            do { n = try FileIO.pread(fd, into: p + got, count: count - got, offset: got) } catch {
                munmap(p, count)
                throw error
            }
            if n == 0 {
                munmap(p, count)
                throw ConditionFailure("pread", .fileShrank)
            }
            got += n
        }
        mprotect(p, count, PROT_READ)
        base = UnsafeRawPointer(p)
        owner = source.map { .file(Origin($0.path, $0.identity)) } ?? .mapping
        Self.liveFileMappings.wrappingAdd(1, ordering: .relaxed)
    }

    /// The `count` bytes at `offset` of `slot`, which this object now owns
    /// (freed in deinit). No source: a copy does not change with its file.
    /// `offset + count` must be what the slot was allocated for (its page's
    /// count of requested bytes), and `offset` inside the slot: both are
    /// derived from `base` again when it is freed.
    public init(slot: SlabSlot, offset: Int, count: Int, immutableFile: OpenFile? = nil) {
        precondition(offset + count <= slot.capacity && offset < slot.capacity, "beyond the slot")
        precondition(offset + count == Int(slot.requested), "the slot's requested size")
        self.count = count
        owner = Self.owner(.slab(slot.page), keeping: immutableFile)
        base = UnsafeRawPointer(slot.base + offset)
    }

    /// A copy of the first `count` bytes of `fd` in a slot of `allocator`,
    /// after `prefix` (the copy's `base` is past the prefix; see `prefix(_:)`);
    /// nil when prefix and body exceed the largest slot. Throws
    /// `SystemError` (mmap's or pread's errno), `ConditionFailure` when the file is shorter than `count`.
    public convenience init?(copyOf fd: FileDescriptor, count: Int, after prefix: [UInt8] = [], into allocator: SlabAllocator,
                             immutableFile: OpenFile? = nil) throws {
        guard let slot = try allocator.allocate(prefix.count + count), prefix.count < slot.capacity else { return nil }
        // Owned from here: a failed read frees the slot with this object.
        self.init(slot: slot, offset: prefix.count, count: count, immutableFile: immutableFile)
        prefix.withUnsafeBytes { if let b = $0.baseAddress { slot.base.copyMemory(from: b, byteCount: prefix.count) } }
        let body = slot.base + prefix.count
        var got = 0
        while got < count {
            let n = try FileIO.pread(fd.rawValue, into: body + got, count: count - got, offset: got)
            if n == 0 { throw ConditionFailure("pread", .fileShrank) }
            got += n
        }
    }

    /// The `count` bytes before `base` in the slot (the prefix given to
    /// `init(copyOf:count:after:into:)`); empty for a mapping.
    public final func prefix(_ count: Int) -> [UInt8] {
        guard case .slab(let page) = bytesOwner, let base, count > 0, base - count >= UnsafeRawPointer(page.slotBase(of: base)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base - count, count: count))
    }

    /// Where the last page of a mapping of a file at a path begins, when the
    /// version mapped was written in the last `recentChangeNanos` (nil
    /// otherwise, and for other bytes). A file truncated to a point inside
    /// that page reads as zeros past its new end there, not as a fault
    /// (EFAULT) as whole pages past the end do: a send checks the file's
    /// version again before it writes those bytes (`OutputQueue`). Only for
    /// files being changed now: the check and the write of its own cost a
    /// 256 KiB response 8-25% of its server CPU time here (cpu_per_request,
    /// large case, four runs of 3-9 rounds), and a file unchanged for seconds is rarely truncated in
    /// place in the microseconds of a send (the soak part, whose files change
    /// every few hundred milliseconds, once had a 200 ending in zeros).
    public final var guardedTailStart: Int? {
        guard case .file(let o) = bytesOwner, count > 0,
              Clock.wallNanos() &- o.identity.mtimeNanos < Self.recentChangeNanos else { return nil }
        return (count - 1) / Self.systemPageSize * Self.systemPageSize
    }

    /// How recently a file must have been written for `guardedTailStart`.
    public static let recentChangeNanos: Int64 = 2_000_000_000

    private static let systemPageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// Whether the file at `source` is gone or another version now (false without a source).
    public final func sourceChanged() -> Bool {
        guard case .file(let origin) = bytesOwner else { return false }
        return !origin.identity.isCurrent(at: origin.path)
    }

    deinit {
        switch bytesOwner {
        case .none, .kept: break
        case .slab(let page): page.owner.free(page.slot(holding: base!, count: count))
        case .mapping, .file:
            munmap(UnsafeMutableRawPointer(mutating: base!), count)
            Self.liveFileMappings.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
