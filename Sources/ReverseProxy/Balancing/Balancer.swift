/// Picks a backend index for one request by its balancing key (what the pool's
/// `hash_key` names; only consistent hashing reads it). `usable(i)` says whether backend `i`
/// may be picked now (alive, not this server, not already tried for this
/// request). Implementations are thread-safe: workers share a pool.
public protocol Balancer: Sendable {
    /// The chosen index, or nil when no backend is usable.
    func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int?
}

/// The first usable index scanning circularly from `start`.
@inline(__always)
func firstUsable(from start: Int, count: Int, usable: (Int) -> Bool) -> Int? {
    guard count > 0 else { return nil }
    var i = start % count
    for _ in 0..<count {
        if usable(i) { return i }
        i += 1
        if i == count { i = 0 }
    }
    return nil
}

/// The balancer a pool's configuration names.
public func makeBalancer(_ config: PoolConfig) -> any Balancer {
    switch config.balance {
    case .naive: return NaiveBalancer()
    case .firstAlive: return FirstAliveBalancer()
    case .roundRobin: return AtomicRoundRobinBalancer()
    case .roundRobinLocked: return LockedRoundRobinBalancer()
    case .leastConnections: return LeastConnectionsBalancer()
    case .consistentHash: return ConsistentHashBalancer(backends: config.backends, config: config.consistentHash)
    }
}
