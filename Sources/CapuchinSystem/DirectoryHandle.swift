import Glibc

/// An open directory descriptor (a site's document root), closed on deinit.
public final class DirectoryHandle: Sendable {
    public let fd: Int32
    public let path: String

    /// Opens `path` as a directory. Throws `SystemError` (ENOENT, ENOTDIR, EACCES).
    public init(path: String) throws {
        fd = try blockingSyscall("open(\(path))") { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        self.path = path
    }

    /// The descriptor, typed (still owned by this object).
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: fd) }

    deinit { FileIO.close(fd) }
}
