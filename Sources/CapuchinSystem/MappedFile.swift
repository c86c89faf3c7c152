import CSystemShims
import Glibc

/// A read-only private mapping of a whole file. The bytes are never touched in
/// user space by the server (only handed to writev), so a file truncated under
/// the mapping yields EFAULT from the kernel rather than SIGBUS.
public final class MappedFile: @unchecked Sendable { // safe: lets only; the mapping is read-only (kernel reads it in writev) and unmapped in deinit
    public let base: UnsafeRawPointer?
    public let count: Int
    /// The path and version mapped, when a send that spans several writes must
    /// stop once the file changed (else the client gets a mix of two versions).
    public let source: (path: String, identity: FileIdentity)?

    /// Maps `count` bytes of the open descriptor `fd` (which the caller keeps or closes).
    /// Throws `SystemError` with mmap's errno.
    public convenience init(fd: FileDescriptor, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        try self.init(fd: fd.rawValue, count: count, source: source)
    }

    /// A private copy of the first `count` bytes of `fd`: see the raw-descriptor form.
    public convenience init(snapshotOf fd: FileDescriptor, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        try self.init(snapshotOf: fd.rawValue, count: count, source: source)
    }

    /// Transitional (raw descriptor): used by Engine and FileCachePlugin until they move to `FileDescriptor`.
    public init(fd: Int32, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        self.count = count
        self.source = source
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED { throw SystemError(call: "mmap", errno: cap_errno()) }
        base = UnsafeRawPointer(p)
    }

    /// A private copy of the first `count` bytes of `fd` in anonymous memory: a
    /// snapshot no later change to the file shows through (a file truncated
    /// between a hit's revalidation and its writev read as zeros from a file
    /// mapping: the soak found 3 such bodies in 641,632). Throws `SystemError`
    /// (mmap's or pread's errno), `ConditionFailure` when the file is shorter than `count`.
    public init(snapshotOf fd: Int32, count: Int, source: (path: String, identity: FileIdentity)? = nil) throws {
        self.count = count
        self.source = source
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
    }

    /// Whether the file at `source` is gone or another version now (false without a source).
    public func sourceChanged() -> Bool {
        guard let source else { return false }
        return !source.identity.isCurrent(at: source.path)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}
