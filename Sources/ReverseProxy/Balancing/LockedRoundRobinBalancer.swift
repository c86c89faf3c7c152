import CapuchinSystem

/// Round-robin under a mutex: the rotation continues after the backend actually
/// picked, so skipping a dead backend does not double the next one's share.
public final class LockedRoundRobinBalancer: Balancer {
    private let next = Lock<Int>(0)

    public init() {}

    public func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        next.withLock { next in
            guard let i = firstUsable(from: next, count: backends.count, usable: usable) else { return nil }
            next = (i + 1) % backends.count
            return i
        }
    }
}
