/// The balancer a pool uses, by its config name.
public enum BalanceAlgorithm: String, Sendable, CaseIterable {
    /// Stays on the last backend used until it fails, then moves on.
    case naive
    /// Always the first live backend in list order (primary + standbys).
    case firstAlive = "first-alive"
    /// Rotates with a lock-free atomic counter.
    case roundRobin = "round-robin"
    /// Rotates under a mutex (strict rotation, one winner at a time).
    case roundRobinLocked = "round-robin-locked"
    /// Fewest requests in flight.
    case leastConnections = "least-connections"
    /// Hash ring on the request path: the same path goes to the same backend.
    case consistentHash = "consistent-hash"
}
