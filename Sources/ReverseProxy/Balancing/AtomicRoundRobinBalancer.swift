import Synchronization

/// Round-robin with one lock-free atomic counter. Under concurrency two workers
/// may land on the same backend when one is skipped, which evens out.
public final class AtomicRoundRobinBalancer: Balancer {
    private let counter = Atomic<UInt>(0)

    public init() {}

    public func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        guard !backends.isEmpty else { return nil }
        let ticket = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return firstUsable(from: Int(ticket % UInt(backends.count)), count: backends.count, usable: usable)
    }
}
