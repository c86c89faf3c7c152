import CSystemShims
import Glibc

/// Identity and freshness of a file as fstat reports it.
public struct FileIdentity: Sendable, Equatable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int
    public var mtimeNanos: Int64
    public var isRegular: Bool
    public var isDirectory: Bool

    public init(device: UInt64, inode: UInt64, size: Int, mtimeNanos: Int64, isRegular: Bool, isDirectory: Bool) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNanos = mtimeNanos
        self.isRegular = isRegular
        self.isDirectory = isDirectory
    }

    public init(_ st: stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int(st.st_size),
                  mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                  isRegular: (st.st_mode & S_IFMT) == S_IFREG, isDirectory: (st.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Same file, same content as far as fstat can tell.
    public func sameVersion(as other: FileIdentity) -> Bool {
        device == other.device && inode == other.inode && size == other.size && mtimeNanos == other.mtimeNanos
    }

    /// Whether `path` names a regular file of this version now. stat follows the
    /// path: a rename over the file or its removal shows.
    public func isCurrent(at path: String) -> Bool {
        guard let now = try? statPath(path) else { return false }
        return now.isRegular && now.sameVersion(as: self)
    }

    /// The same for a NUL-terminated path (a cache entry's, put together on
    /// the stack: no String is made for a hit's revalidating stat).
    public func isCurrent(atCString path: UnsafePointer<CChar>) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let now = FileIdentity(st)
        return now.isRegular && now.sameVersion(as: self)
    }
}

/// An open, read-only file descriptor owned by this object (closed on deinit).
/// Plugins hold it as an opaque handle; only the server writes it out (sendfile).
public final class OpenFile: Sendable {
    public let fd: Int32

    /// Transitional: used by Engine until it moves to `FileDescriptor`.
    public init(adopting fd: Int32) { self.fd = fd }

    /// Takes over `descriptor` (closed on deinit).
    public convenience init(adopting descriptor: FileDescriptor) { self.init(adopting: descriptor.rawValue) }

    /// The descriptor, typed (still owned by this object).
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: fd) }

    /// Opens `path` read-only. Throws `SystemError` (ENOENT, EACCES, ...).
    public convenience init(path: String) throws {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        if fd < 0 { throw SystemError(call: "open", errno: errno) }
        self.init(adopting: fd)
    }

    /// fstat of the open descriptor. Throws `SystemError`.
    public func identity() throws -> FileIdentity {
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemError(call: "fstat", errno: errno) }
        return FileIdentity(st)
    }

    deinit { close(fd) }
}

/// stat(2) of a path, following symlinks. Throws `SystemError`.
public func statPath(_ path: String) throws -> FileIdentity {
    var st = stat()
    if stat(path, &st) != 0 { throw SystemError(call: "stat", errno: errno) }
    return FileIdentity(st)
}
