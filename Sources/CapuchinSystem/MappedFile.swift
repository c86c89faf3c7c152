import CSystemShims
import Glibc

/// A read-only private mapping of a whole file. The bytes are never touched in
/// user space by the server (only handed to writev), so a file truncated under
/// the mapping yields EFAULT from the kernel rather than SIGBUS.
public final class MappedFile: @unchecked Sendable {
    public let base: UnsafeRawPointer?
    public let count: Int

    /// Maps `count` bytes of the open descriptor `fd` (which the caller keeps or closes).
    /// Throws `SystemError` with mmap's errno.
    public init(fd: Int32, count: Int) throws {
        self.count = count
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED { throw SystemError(call: "mmap", errno: cap_errno()) }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}
