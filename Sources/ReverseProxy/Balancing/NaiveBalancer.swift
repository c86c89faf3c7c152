import Synchronization

/// Stays on the backend used last; on failure moves to the next live one and
/// stays there (no failback until that one fails too).
public final class NaiveBalancer: Balancer {
    private let last = Atomic<Int>(0)

    public init() {}

    public func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        guard let i = firstUsable(from: last.load(ordering: .relaxed), count: backends.count, usable: usable) else { return nil }
        last.store(i, ordering: .relaxed)
        return i
    }
}
