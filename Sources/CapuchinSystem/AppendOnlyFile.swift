import Glibc

/// A log file opened for appending (created 0644 when missing). `reopen()`
/// opens the path again, so after logrotate renamed the file the next lines go
/// to a new one at the configured path; lines written before go to the old.
public final class AppendOnlyFile: @unchecked Sendable {
    public let path: String
    public private(set) var fd: Int32

    /// Throws `SystemError` (EACCES, ENOENT for a missing directory, ...).
    public init(path: String) throws {
        self.path = path
        fd = try Self.open(path)
    }

    deinit { FileIO.close(fd) }

    private static func open(_ path: String) throws -> Int32 {
        try blockingSyscall("open(\(path))") { Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
    }

    /// Opens the path again and closes the old descriptor. On failure the old
    /// one is kept (lines still land somewhere) and the error thrown.
    public func reopen() throws {
        let new = try Self.open(path)
        let old = fd
        fd = new
        FileIO.close(old)
    }

    /// Writes every byte (retrying short writes and EINTR). Throws `SystemError` (ENOSPC, EIO).
    public func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = try blockingSyscall("write(\(path))") { Glibc.write(fd, raw.baseAddress! + off, raw.count - off) }
                if n == 0 { throw SystemError(call: "write(\(path))", errno: EIO) }
                off += n
            }
        }
    }

    /// Waits up to `millis` for `fd` to be readable (a wake-up eventfd). EINTR counts as a wake-up.
    public static func waitReadable(_ fd: Int32, millis: Int32) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, millis)
    }
}
