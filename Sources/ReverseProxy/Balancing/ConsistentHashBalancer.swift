/// Consistent hashing with bounded loads: one key (by default the cache key)
/// keeps going to the same backend, so in a tier of caches each response is
/// stored on one node; a dead backend's keys move to the next backend on the
/// ring and come back when it recovers, the others' keys never move.
///
/// Bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016; HAProxy's
/// `hash-balance-factor`): a backend whose requests in flight would exceed
/// ceil(c x the average over usable backends) is passed over for the next one
/// clockwise, so a hot key spills to its ring successors instead of overrunning
/// its node. The loads are the shared `BackendState.inFlight` counters read
/// without a lock: concurrent workers may each see the same count, so under a
/// burst the bound can be exceeded by up to the number of workers.
public final class ConsistentHashBalancer: Balancer {
    public let ring: HashRing
    /// c in percent; 0: no bound.
    public let balanceFactorPercent: Int

    public init(backends: [BackendAddress], virtualNodes: Int = HashRing.defaultVirtualNodes,
                balanceFactorPercent: Int = 0) {
        ring = HashRing(nodes: backends.map(\.description), virtualNodes: virtualNodes)
        self.balanceFactorPercent = balanceFactorPercent
    }

    public convenience init(backends: [BackendAddress], config: ConsistentHashConfig) {
        self.init(backends: backends, virtualNodes: config.virtualNodes, balanceFactorPercent: config.balanceFactorPercent)
    }

    public func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        let point = StableHash.hash(key)
        guard balanceFactorPercent > 0 else { return ring.node(for: point, usable: usable) }
        var total = 0, count = 0
        for i in backends.indices where usable(i) {
            total += max(0, backends[i].inFlight)
            count += 1
        }
        guard count > 0 else { return nil }
        let capacity = Self.capacity(inFlight: total + 1, backends: count, factorPercent: balanceFactorPercent)
        if let i = ring.node(for: point, usable: { usable($0) && backends[$0].inFlight < capacity }) { return i }
        // Only when other workers raised every load since it was summed.
        return ring.node(for: point, usable: usable)
    }

    /// ceil(c x inFlight / backends), at least 1: the most requests in flight
    /// one backend may hold once this one is counted. Integer arithmetic, so
    /// 1.25 x 4 / 5 is exactly 1. Some backend is always below it: the
    /// others hold inFlight - 1 < backends x capacity.
    public static func capacity(inFlight: Int, backends: Int, factorPercent: Int) -> Int {
        let denominator = 100 * backends
        return max(1, (inFlight * factorPercent + denominator - 1) / denominator)
    }
}
