import CSystemShims
import Glibc

/// A non-blocking eventfd used to wake a thread blocked in epoll_wait.
public final class EventFD: Sendable {
    public let fd: Int32

    /// Throws `SystemError` from eventfd (EMFILE, ENFILE).
    public init() throws {
        fd = try blockingSyscall("eventfd") { cap_eventfd() }
    }

    deinit { FileIO.close(fd) }

    /// Wakes the waiter; callable from any thread (a full counter is already a wake-up).
    public func signal() {
        var one: UInt64 = 1
        _ = try? FileIO.write(fd, &one, count: 8)
    }

    /// Resets the counter after a wake-up.
    public func drain() {
        var value: UInt64 = 0
        _ = try? FileIO.read(fd, into: &value, count: 8)
    }

    /// Blocks until signalled or `timeoutMillis` passed (poll(2); an
    /// interruption counts as a wake-up). For a thread that waits on nothing else.
    public func wait(timeoutMillis: Int32) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, timeoutMillis)
    }
}
