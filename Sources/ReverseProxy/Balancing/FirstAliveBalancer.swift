/// The first live backend in list order: a primary with standbys that takes
/// traffic back as soon as it is up again.
public final class FirstAliveBalancer: Balancer {
    public init() {}

    public func pick(key: String, backends: [BackendState], usable: (Int) -> Bool) -> Int? {
        firstUsable(from: 0, count: backends.count, usable: usable)
    }
}
