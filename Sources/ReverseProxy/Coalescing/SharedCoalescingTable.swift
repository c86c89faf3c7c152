import CapuchinSystem

/// Request coalescing across workers: one origin request per key for the whole
/// server, under a mutex. Waiters are called on the completing thread, outside
/// the lock, so a waiter on another worker must hand the result to its own
/// worker (the server's cross-worker post); the closure does that.
public final class SharedCoalescingTable<Key: Hashable & Sendable, Result: Sendable>: Sendable {
    private let waitlist = Lock(CoalescingWaitlist<Key, @Sendable (Result) -> Void>())

    public init() {}

    public func join(_ key: Key, onResult: @escaping @Sendable (Result) -> Void) -> CoalescingRole {
        waitlist.withLock { $0.join(key, waiter: onResult) }
    }

    @discardableResult
    public func cancel(_ key: Key, ticket: UInt64) -> Bool { waitlist.withLock { $0.cancel(key, ticket: ticket) } }

    /// Delivers `result` to every waiter of `key`; returns how many were woken.
    @discardableResult
    public func complete(_ key: Key, with result: Result) -> Int {
        let waiters = waitlist.withLock { $0.complete(key) }
        for w in waiters { w(result) }
        return waiters.count
    }

    public func isInFlight(_ key: Key) -> Bool { waitlist.withLock { $0.isInFlight(key) } }
    public func waiterCount(_ key: Key) -> Int { waitlist.withLock { $0.waiterCount(key) } }
}
