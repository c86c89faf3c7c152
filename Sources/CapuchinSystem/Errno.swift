import CSystemShims
import Glibc

/// An errno value, typed (as swift-system's `Errno`): callers compare against
/// the named constants instead of importing Glibc for them.
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno now.
    @inline(__always)
    public static var current: Errno { Errno(rawValue: cap_errno()) }

    public static let notPermitted = Errno(rawValue: EPERM)
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let ioError = Errno(rawValue: EIO)
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    public static let resourceTemporarilyUnavailable = Errno(rawValue: EAGAIN)
    public static let noMemory = Errno(rawValue: ENOMEM)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let crossDeviceLink = Errno(rawValue: EXDEV)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let isDirectory = Errno(rawValue: EISDIR)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let fileNameTooLong = Errno(rawValue: ENAMETOOLONG)
    public static let noFunction = Errno(rawValue: ENOSYS)
    public static let tooManySymbolicLinkLevels = Errno(rawValue: ELOOP)
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    public static let socketNotConnected = Errno(rawValue: ENOTCONN)
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)

    /// strerror's text.
    public var description: String { String(cString: strerror(rawValue)) }
}
