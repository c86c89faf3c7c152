import CapuchinSystem

/// Request coalescing across workers: one origin request per key for the whole
/// server, under a mutex. Waiters are called on the completing thread, outside
/// the lock, so a waiter on another worker must hand the result to its own
/// worker (the server's cross-worker post); the closure does that.
///
/// A leader may `publish` an interim result before it completes (the head of
/// a response being stored, for waiters to stream): the waiters so far that
/// accept interim results get it at once, and so does every such caller that
/// joins before `complete`; the others wait for the final result.
public final class SharedCoalescingTable<Key: Hashable & Sendable, Result: Sendable>: Sendable {
    private struct Waiter {
        let acceptsInterim: Bool
        let deliver: @Sendable (Result) -> Void
    }
    private struct State {
        var waitlist = CoalescingWaitlist<Key, Waiter>()
        var published: [Key: Result] = [:]
    }
    private let state = Lock(State())

    public init() {}

    public func join(_ key: Key, acceptsInterim: Bool = false, onResult: @escaping @Sendable (Result) -> Void) -> CoalescingRole {
        let (role, interim) = state.withLock { s -> (CoalescingRole, Result?) in
            if acceptsInterim, let r = s.published[key] { return (.follower(ticket: 0), r) }
            return (s.waitlist.join(key, waiter: Waiter(acceptsInterim: acceptsInterim, deliver: onResult)), nil)
        }
        if let interim { onResult(interim) }
        return role
    }

    @discardableResult
    public func cancel(_ key: Key, ticket: UInt64) -> Bool { state.withLock { $0.waitlist.cancel(key, ticket: ticket) } }

    /// Delivers `interim` to the waiters so far and to every later joiner
    /// until `complete`; returns how many were woken now.
    @discardableResult
    public func publish(_ key: Key, _ interim: Result) -> Int {
        let waiters = state.withLock { s -> [Waiter] in
            guard s.waitlist.isInFlight(key) else { return [] }
            s.published[key] = interim
            return s.waitlist.takeWaiters(key, where: \.acceptsInterim)
        }
        for w in waiters { w.deliver(interim) }
        return waiters.count
    }

    /// Delivers `result` to every waiter of `key`; returns how many were woken.
    @discardableResult
    public func complete(_ key: Key, with result: Result) -> Int {
        let waiters = state.withLock { s in
            s.published[key] = nil
            return s.waitlist.complete(key)
        }
        for w in waiters { w.deliver(result) }
        return waiters.count
    }

    public func isInFlight(_ key: Key) -> Bool { state.withLock { $0.waitlist.isInFlight(key) } }
    public func waiterCount(_ key: Key) -> Int { state.withLock { $0.waitlist.waiterCount(key) } }
}
