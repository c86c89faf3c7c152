/// Consistent hashing on the request path: one path keeps going to the same
/// backend (warm per-backend caches); a dead backend's paths move to the next
/// backend on the ring and come back when it recovers.
public final class ConsistentHashBalancer: Balancer {
    public let ring: HashRing

    public init(backends: [BackendAddress], virtualNodes: Int = HashRing.defaultVirtualNodes) {
        ring = HashRing(nodes: backends.map(\.description), virtualNodes: virtualNodes)
    }

    public func pick(path: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        ring.node(for: StableHash.hash(path), usable: usable)
    }
}
