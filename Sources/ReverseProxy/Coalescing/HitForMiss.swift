import CapuchinSystem

/// Keys whose last response could not be shared with coalesced waiters
/// (private, Set-Cookie, no-store, no freshness...), for a while: their misses
/// go to the origin at once instead of queueing behind a leader, as Varnish's
/// hit-for-miss objects (and Fastly's hit-for-pass) do. The waiters queued
/// behind such a response must each fetch their own (it may be another
/// user's), as nginx's lock releases them; without the mark every later
/// burst would queue again for a whole origin round trip and then storm the
/// origin all at once. A miss still tries to store: the first storable
/// response clears the mark. Thread-safe (shared by every worker).
final class HitForMiss: Sendable {
    /// How long a mark lasts (Varnish's built-in VCL: 120 s).
    let lifetimeNanos: UInt64
    /// At most this many keys are marked (a full table forgets expired marks first, then all).
    let capacity: Int
    private let marks = Lock([String: UInt64]())

    init(lifetimeNanos: UInt64 = 120_000_000_000, capacity: Int = 10_000) {
        self.lifetimeNanos = lifetimeNanos
        self.capacity = capacity
    }

    /// Marks `key` until `now` + the lifetime.
    func mark(_ key: String, now: UInt64) {
        marks.withLock { m in
            if m.count >= capacity {
                m = m.filter { $0.value > now }
                if m.count >= capacity { m.removeAll(keepingCapacity: true) }
            }
            m[key] = now + lifetimeNanos
        }
    }

    /// Whether `key` is marked at `now` (an expired mark is dropped).
    func isMarked(_ key: String, now: UInt64) -> Bool {
        marks.withLock { m in
            guard let until = m[key] else { return false }
            if until > now { return true }
            m.removeValue(forKey: key)
            return false
        }
    }

    /// Drops `key`'s mark (a response for it was stored).
    func clear(_ key: String) {
        _ = marks.withLock { $0.removeValue(forKey: key) }
    }

    /// Keys marked now (tests, stats).
    var count: Int { marks.withLock { $0.count } }
}
