import Glibc

/// One spare descriptor (/dev/null) held so a process out of descriptors can
/// still accept a connection and close it: without that, a listener whose
/// backlog cannot be drained stays readable and the loop spins (the
/// technique of libev and nginx).
public struct DescriptorReserve {
    private var fd: Int32 = -1

    public init() { retake() }

    /// Whether the spare is held.
    public var isHeld: Bool { fd >= 0 }

    /// Frees the spare for one accept.
    public mutating func release() {
        if fd >= 0 { FileIO.close(fd); fd = -1 }
    }

    /// Takes the spare back (fails quietly while still out of descriptors).
    public mutating func retake() {
        if fd < 0 { fd = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }
}

extension SystemError {
    /// EMFILE or ENFILE: the process or the system ran out of descriptors.
    public var isOutOfDescriptors: Bool { errno == EMFILE || errno == ENFILE }

    /// A refused connect reported by epoll without an errno of its own.
    public static func connectionRefused(_ call: String) -> SystemError { SystemError(call: call, errno: ECONNREFUSED) }

    /// A condition that is not a failed call but must end the transfer (a file
    /// changed or shrank under a send): reported as EIO.
    public static func ioFailure(_ what: String) -> SystemError { SystemError(call: what, errno: EIO) }

    /// An operation on a loop that has stopped (ENOTCONN).
    public static func notConnected(_ what: String) -> SystemError { SystemError(call: what, errno: ENOTCONN) }
}

/// Process-wide facts the server logs or signals with.
public enum ProcessIdentity {
    public static var id: Int32 { getpid() }
}

extension Signals {
    public static let hangup: Int32 = SIGHUP
    /// Reopen the logs (logrotate's postrotate).
    public static let userDefined1: Int32 = SIGUSR1
    public static let terminate: Int32 = SIGTERM
}

/// memchr(3) over a buffer: whether `byte` occurs in it (vectorised by libc).
@inline(__always)
public func memoryContains(_ bytes: UnsafeRawBufferPointer, byte: UInt8) -> Bool {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
    return memchr(base, Int32(byte), bytes.count) != nil
}

/// memcmp(3) == 0 over `count` bytes (vectorised by libc; String comparisons
/// cost grapheme checks on the hit path).
@inline(__always)
public func memoryEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(a, b, count) == 0
}
