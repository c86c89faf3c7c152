import CSystemShims
import Glibc

/// Reads, writes and closes on raw descriptors: each call wrapped once here.
/// Transitional: used by Engine until it moves to `FileDescriptor` (new code
/// calls the typed methods of `FileDescriptor`).
public enum FileIO {
    /// read(2). `.processed(0)` is end of file. Throws `SystemError` (ECONNRESET, ...).
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws -> IOResult<Int> {
        try retryingSyscall("read") { Glibc.read(fd, buffer, count) }
    }

    /// pread(2) on a regular file (never would-block). Throws `SystemError`.
    public static func pread(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int) throws -> Int {
        try blockingSyscall("pread") { Glibc.pread(fd, buffer, count, off_t(offset)) }
    }

    /// write(2). Throws `SystemError` (EPIPE, ECONNRESET, ...).
    @inline(__always)
    public static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, count: Int) throws -> IOResult<Int> {
        try retryingSyscall("write") { Glibc.write(fd, buffer, count) }
    }

    /// writev(2) of `count` iovecs. Throws `SystemError` (EPIPE, ECONNRESET, EFAULT for a truncated mapping, ...).
    @inline(__always)
    public static func writev(_ fd: Int32, _ iov: UnsafePointer<iovec>, count: Int) throws -> IOResult<Int> {
        try retryingSyscall("writev") { Glibc.writev(fd, iov, Int32(count)) }
    }

    /// writev(2) on a socket with MSG_MORE (sendmsg): more bytes follow at once
    /// (a sendfile), so the kernel holds a partial segment for them. Throws `SystemError`.
    @inline(__always)
    public static func writevMore(_ fd: Int32, _ iov: UnsafePointer<iovec>, count: Int) throws -> IOResult<Int> {
        try retryingSyscall("sendmsg") { cap_writev_more(fd, iov, Int32(count)) }
    }

    /// sendfile(2) of `count` bytes of `file` from `offset` to the socket `socket`.
    /// Returns bytes sent (0 when the file is shorter than expected). Throws `SystemError`.
    @inline(__always)
    public static func sendfile(socket: Int32, file: Int32, offset: Int, count: Int) throws -> IOResult<Int> {
        var off = off_t(offset)
        return try retryingSyscall("sendfile") { cap_sendfile(socket, file, &off, count) }
    }

    /// fstat(2). Throws `SystemError`.
    public static func fstat(_ fd: Int32) throws -> FileIdentity {
        var st = stat()
        _ = try blockingSyscall("fstat") { Glibc.fstat(fd, &st) }
        return FileIdentity(st)
    }

    /// A second descriptor for the same open file (close-on-exec): one per
    /// owner, so that each closes its own. Throws `SystemError` (EMFILE).
    public static func duplicate(_ fd: Int32) throws -> Int32 {
        try blockingSyscall("fcntl(F_DUPFD_CLOEXEC)") { Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// close(2). Errors are ignored: the descriptor is gone either way (EINTR
    /// must not be retried on Linux).
    @inline(__always)
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
