import Synchronization

/// The usable backend with the fewest requests in flight; ties go round-robin
/// so an idle pool still spreads load.
public final class LeastConnectionsBalancer: Balancer {
    private let tieBreak = Atomic<UInt>(0)

    public init() {}

    public func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        let n = backends.count
        guard n > 0 else { return nil }
        let start = Int(tieBreak.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(n))
        var best: Int? = nil
        var bestLoad = Int.max
        var i = start
        for _ in 0..<n {
            if usable(i) {
                let load = backends[i].inFlight
                if load < bestLoad { best = i; bestLoad = load }
            }
            i += 1
            if i == n { i = 0 }
        }
        return best
    }
}
