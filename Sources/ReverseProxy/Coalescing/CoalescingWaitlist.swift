/// A caller's part in a coalesced fetch.
public enum CoalescingRole: Sendable, Equatable {
    /// First for the key: fetch from the origin, then `complete` the key.
    case leader
    /// Another fetch is under way; the waiter is called with its result.
    /// The ticket cancels the wait (client gone).
    case follower(ticket: UInt64)
}

/// The bookkeeping of request coalescing, without locking or delivery: which
/// keys have a fetch in flight and who waits for each. The leader must always
/// `complete` its key, with a failure result too, or its waiters wait forever
/// (the integration bounds that with the pool's first-byte timeout).
public struct CoalescingWaitlist<Key: Hashable, Waiter> {
    private var pending: [Key: [(ticket: UInt64, waiter: Waiter)]] = [:]
    private var nextTicket: UInt64 = 1

    public init() {}

    /// Registers interest in `key`: the first caller leads (and is not listed as
    /// a waiter); later callers wait with `waiter`.
    public mutating func join(_ key: Key, waiter: Waiter) -> CoalescingRole {
        guard pending[key] != nil else {
            pending[key] = []
            return .leader
        }
        let ticket = nextTicket
        nextTicket &+= 1
        pending[key]!.append((ticket, waiter))
        return .follower(ticket: ticket)
    }

    /// Removes a waiting follower; returns false if it was not waiting.
    @discardableResult
    public mutating func cancel(_ key: Key, ticket: UInt64) -> Bool {
        guard let i = pending[key]?.firstIndex(where: { $0.ticket == ticket }) else { return false }
        pending[key]!.remove(at: i)
        return true
    }

    /// Ends the fetch for `key`; returns its waiters in arrival order. The next
    /// `join` for the key leads a new fetch.
    public mutating func complete(_ key: Key) -> [Waiter] {
        (pending.removeValue(forKey: key) ?? []).map(\.waiter)
    }

    /// The waiters of `key` so far that `wanted` picks, removed from it; the
    /// fetch stays in flight (the others, and later callers, still follow it).
    public mutating func takeWaiters(_ key: Key, where wanted: (Waiter) -> Bool) -> [Waiter] {
        guard let list = pending[key] else { return [] }
        pending[key] = list.filter { !wanted($0.waiter) }
        return list.filter { wanted($0.waiter) }.map(\.waiter)
    }

    public func isInFlight(_ key: Key) -> Bool { pending[key] != nil }
    public func waiterCount(_ key: Key) -> Int { pending[key]?.count ?? 0 }
    /// Keys with a fetch in flight.
    public var inFlightCount: Int { pending.count }
}
