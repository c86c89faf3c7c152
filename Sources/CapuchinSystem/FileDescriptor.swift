import CSystemShims
import Glibc

/// A file descriptor, typed (as swift-system's `FileDescriptor`). It does not
/// own the descriptor: whoever opened it closes it.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    public enum AccessMode: Sendable {
        case readOnly, writeOnly, readWrite

        var flags: Int32 {
            switch self {
            case .readOnly: return O_RDONLY
            case .writeOnly: return O_WRONLY
            case .readWrite: return O_RDWR
            }
        }
    }

    /// open(2) flags besides the access mode. O_CLOEXEC is always set.
    public struct OpenOptions: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let create = OpenOptions(rawValue: O_CREAT)
        public static let exclusiveCreate = OpenOptions(rawValue: O_CREAT | O_EXCL)
        public static let append = OpenOptions(rawValue: O_APPEND)
        public static let directory = OpenOptions(rawValue: O_DIRECTORY)
    }

    /// open(2), retried on EINTR. Throws `SystemError` naming the call and path.
    public static func open(_ path: String, _ mode: AccessMode, options: OpenOptions = [],
                            permissions: UInt32 = 0o644) throws -> FileDescriptor {
        let flags = mode.flags | options.rawValue | O_CLOEXEC
        let fd = try blockingSyscall("open(\(path))") { Glibc.open(path, flags, mode_t(permissions)) }
        return FileDescriptor(rawValue: fd)
    }

    /// read(2) into `buffer`, retried on EINTR; 0 at end of file. Throws `SystemError`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try blockingSyscall("read") { Glibc.read(rawValue, base, buffer.count) }
    }

    /// Writes all of `bytes` (write(2) until done, retried on EINTR). Throws
    /// `SystemError`; a write of 0 bytes counts as EIO's "no progress".
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var off = 0
        while off < bytes.count {
            let n = try blockingSyscall("write") { Glibc.write(rawValue, base + off, bytes.count - off) }
            if n == 0 { throw SystemError(call: "write (no progress)", code: .ioError) }
            off += n
        }
    }

    /// See `writeAll(_: UnsafeRawBufferPointer)`.
    public func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    /// fsync(2). Throws `SystemError`.
    public func sync() throws {
        _ = try blockingSyscall("fsync") { Glibc.fsync(rawValue) }
    }

    /// posix_fallocate(3) of `length` bytes from `offset`: the blocks exist
    /// afterwards, so a full disk shows now (ENOSPC) rather than as SIGBUS on a
    /// later write through a mapping. Throws `SystemError`.
    public func allocate(offset: Int, length: Int) throws {
        while true {
            let rc = posix_fallocate(rawValue, off_t(offset), off_t(length))
            if rc == 0 { return }
            if rc == EINTR { continue }
            throw SystemError(call: "posix_fallocate", errno: rc)
        }
    }

    /// fstat(2). Throws `SystemError`.
    public func identity() throws -> FileIdentity { try FileIO.fstat(rawValue) }

    /// close(2); errors ignored (see `FileIO.close`).
    public func close() { FileIO.close(rawValue) }
}
