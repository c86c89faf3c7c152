import CSystemShims
import Glibc
import Synchronization

/// A read-only private mapping of a whole file. The bytes are never touched in
/// user space by the server (only handed to writev), so a file truncated under
/// the mapping yields EFAULT from the kernel rather than SIGBUS.
/// Or a copy held in a slot of a `SlabAllocator`, owned by this object: the
/// slot is freed in deinit, so never while a response still holds the object.
public final class MappedFile: @unchecked Sendable { // safe: lets only; the mapping is read-only (kernel reads it in writev) and unmapped in deinit
    public let base: UnsafeRawPointer?
    public let count: Int
    /// Boxed (one word): a cache holds a million of these, most without a
    /// source or file (a field more would cost each 16 bytes: 48 -> 64 B, an 80 B chunk).
    private let origin: Origin?
    /// The slab slot holding the bytes (nil: `base` is a mapping of its own).
    private let slot: SlabSlot?

    private final class Origin: Sendable {
        let source: (path: String, identity: FileIdentity)?
        let file: OpenFile?
        init(_ source: (path: String, identity: FileIdentity)?, _ file: OpenFile?) { self.source = source; self.file = file }

        static func make(_ source: (path: String, identity: FileIdentity)?, _ file: OpenFile?) -> Origin? {
            source == nil && file == nil ? nil : Origin(source, file)
        }
    }

    /// A file holding these same bytes that never changes (a compressed
    /// variant the server wrote: temporary + rename, never rewritten): a plain
    /// socket sends it with sendfile rather than copying from memory (an origin
    /// file is never given here: one truncated under sendfile sends short).
    @inline(__always)
    public var immutableFile: OpenFile? { origin?.file }

    /// Mappings this process holds through MappedFile now (of files, or
    /// snapshots; not slab copies): each is one entry of the kernel's map
    /// table, which `vm.max_map_count` bounds.
    public static var fileMappings: Int { liveFileMappings.load(ordering: .relaxed) }
    private static let liveFileMappings = Atomic<Int>(0)

    /// The path and version mapped, when a send that spans several writes must
    /// stop once the file changed (else the client gets a mix of two versions).
    public var source: (path: String, identity: FileIdentity)? { origin?.source }

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
        origin = Origin.make(source, immutableFile)
        slot = nil
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED { throw SystemError(call: "mmap", errno: cap_errno()) }
        base = UnsafeRawPointer(p)
        Self.liveFileMappings.wrappingAdd(1, ordering: .relaxed)
    }

    /// A private copy of the first `count` bytes of `fd` in anonymous memory: a
    /// snapshot no later change to the file shows through (a file truncated
    /// between a hit's revalidation and its writev read as zeros from a file
    /// mapping: the soak found 3 such bodies in 641,632). Throws `SystemError`
    /// (mmap's or pread's errno), `ConditionFailure` when the file is shorter than `count`.
    public init(snapshotOf fd: Int32, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        self.count = count
        origin = Origin.make(source, nil)
        slot = nil
        if count == 0 { base = nil; return }
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
        Self.liveFileMappings.wrappingAdd(1, ordering: .relaxed)
    }

    /// The `count` bytes at `offset` of `slot`, which this object now owns
    /// (freed in deinit). No source: a copy does not change with its file.
    public init(slot: SlabSlot, offset: Int, count: Int, immutableFile: OpenFile? = nil) {
        precondition(offset + count <= slot.capacity, "beyond the slot")
        self.slot = slot
        self.count = count
        origin = Origin.make(nil, immutableFile)
        base = UnsafeRawPointer(slot.base + offset)
    }

    /// A copy of the first `count` bytes of `fd` in a slot of `allocator`,
    /// after `prefix` (the copy's `base` is past the prefix; see `prefix(_:)`);
    /// nil when prefix and body exceed the largest slot. Throws
    /// `SystemError` (mmap's or pread's errno), `ConditionFailure` when the file is shorter than `count`.
    public convenience init?(copyOf fd: FileDescriptor, count: Int, after prefix: [UInt8] = [], into allocator: SlabAllocator,
                             immutableFile: OpenFile? = nil) throws {
        guard let slot = try allocator.allocate(prefix.count + count) else { return nil }
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
    public func prefix(_ count: Int) -> [UInt8] {
        guard let slot, let base, count > 0, base - count >= UnsafeRawPointer(slot.base) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base - count, count: count))
    }

    /// Whether the file at `source` is gone or another version now (false without a source).
    public func sourceChanged() -> Bool {
        guard let source = origin?.source else { return false }
        return !source.identity.isCurrent(at: source.path)
    }

    deinit {
        if let slot { slot.free(); return }
        if let base {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
            Self.liveFileMappings.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
