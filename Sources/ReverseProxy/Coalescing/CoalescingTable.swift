/// Request coalescing for one worker thread (not thread-safe, no locks): the
/// waiters are that worker's own connections, woken on the same thread. This
/// is the default: each worker coalesces its own misses, so N workers send at
/// most N requests for one key, with no cross-thread wake-ups.
public final class CoalescingTable<Key: Hashable, Result> {
    private var waitlist = CoalescingWaitlist<Key, (Result) -> Void>()

    public init() {}

    /// `.leader`: fetch, then call `complete`. `.follower`: `onResult` is called
    /// from `complete`, on this thread.
    public func join(_ key: Key, onResult: @escaping (Result) -> Void) -> CoalescingRole {
        waitlist.join(key, waiter: onResult)
    }

    @discardableResult
    public func cancel(_ key: Key, ticket: UInt64) -> Bool { waitlist.cancel(key, ticket: ticket) }

    /// Delivers `result` to every waiter of `key`; returns how many were woken.
    @discardableResult
    public func complete(_ key: Key, with result: Result) -> Int {
        let waiters = waitlist.complete(key)
        for w in waiters { w(result) }
        return waiters.count
    }

    public func isInFlight(_ key: Key) -> Bool { waitlist.isInFlight(key) }
    public func waiterCount(_ key: Key) -> Int { waitlist.waiterCount(key) }
}
