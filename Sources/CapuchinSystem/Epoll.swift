import CSystemShims
import Glibc

/// One epoll instance, owned by one thread. Events carry a 64-bit token.
public final class Epoll {
    public let fd: Int32
    public static let readable = CAP_EPOLLIN
    public static let writable = CAP_EPOLLOUT
    public static let error = CAP_EPOLLERR
    public static let hangup = CAP_EPOLLHUP
    public static let readHangup = CAP_EPOLLRDHUP
    public static let edgeTriggered = CAP_EPOLLET
    /// One waiter woken per event among the epoll instances sharing a descriptor (a shared listener).
    public static let exclusive = CAP_EPOLLEXCLUSIVE

    private let eventsBuffer: UnsafeMutablePointer<UInt32>
    private let tokensBuffer: UnsafeMutablePointer<UInt64>
    public let capacity: Int

    /// Throws `SystemError` from epoll_create1 (EMFILE, ENOMEM).
    public init(capacity: Int = 256) throws {
        fd = try blockingSyscall("epoll_create1") { cap_epoll_create() }
        self.capacity = min(capacity, 256)
        eventsBuffer = .allocate(capacity: self.capacity)
        tokensBuffer = .allocate(capacity: self.capacity)
    }

    deinit {
        FileIO.close(fd)
        eventsBuffer.deallocate()
        tokensBuffer.deallocate()
    }

    /// Registers `target`. Throws `SystemError` (EEXIST, ENOMEM, ...).
    public func add(_ target: Int32, events: UInt32, token: UInt64) throws {
        _ = try blockingSyscall("epoll_ctl(ADD)") { cap_epoll_ctl(fd, CAP_EPOLL_CTL_ADD, target, events, token) }
    }

    /// Changes the interest set of `target`. Throws `SystemError` (ENOENT, ...).
    public func modify(_ target: Int32, events: UInt32, token: UInt64) throws {
        _ = try blockingSyscall("epoll_ctl(MOD)") { cap_epoll_ctl(fd, CAP_EPOLL_CTL_MOD, target, events, token) }
    }

    /// Unregisters `target`; a descriptor already closed is not an error.
    public func remove(_ target: Int32) {
        _ = cap_epoll_ctl(fd, CAP_EPOLL_CTL_DEL, target, 0, 0)
    }

    /// Waits up to `timeoutMillis` (-1: forever). EINTR returns 0 events.
    /// Read the results with `event(at:)`. Throws `SystemError` (EBADF, EINVAL).
    public func wait(timeoutMillis: Int32) throws -> Int {
        let n = cap_epoll_wait(fd, eventsBuffer, tokensBuffer, Int32(capacity), timeoutMillis)
        if n < 0 {
            let e = cap_errno()
            if e == EINTR { return 0 }
            throw SystemError(call: "epoll_wait", errno: e)
        }
        return Int(n)
    }

    @inline(__always)
    public func event(at i: Int) -> (events: UInt32, token: UInt64) {
        (eventsBuffer[i], tokensBuffer[i])
    }
}
