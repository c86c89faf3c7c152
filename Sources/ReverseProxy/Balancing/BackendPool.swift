/// A pool at run time: its backends' shared state and its balancer.
/// Thread-safe; one instance is shared by every worker.
public final class BackendPool: Sendable {
    public let config: PoolConfig
    public let backends: [BackendState]
    public let balancer: any Balancer
    /// Backends that are not this server. With one, it is never marked down
    /// (nginx does the same for a group of one server): there is nothing to
    /// fail over to, and marking it down would turn one dropped connection
    /// into `offline_timeout` of 502s.
    private let usableCount: Int

    /// `isSelf` marks backends that are this server's own listen address (loop
    /// detection); they are never picked.
    public init(config: PoolConfig, isSelf: (BackendAddress) -> Bool = { _ in false }) {
        self.config = config
        self.backends = config.backends.map { BackendState(address: $0, isSelf: isSelf($0)) }
        self.balancer = makeBalancer(config)
        self.usableCount = backends.filter { !$0.isSelf }.count
    }

    public var name: String { config.name }

    /// A backend for the balancing key `key` (see `PoolRuntime.balanceKey`) at monotonic time `now`, never one in `excluding`.
    /// When every other backend is down, the one that comes back first is
    /// tried rather than none (its down time is a guess, not a certainty);
    /// nil only when every backend is this server or excluded.
    public func pick(key: String, now: UInt64, excluding: [Int] = []) -> Int? {
        if let i = balancer.pick(key: key, backends: backends, usable: { i in
            backends[i].isAlive(at: now) && !excluding.contains(i)
        }) { return i }
        // A backend the health checks pass (only passively marked) before one they fail.
        var best: Int?
        for (i, b) in backends.enumerated() where !b.isSelf && !excluding.contains(i) {
            guard let j = best else { best = i; continue }
            let o = backends[j]
            if (b.isHealthy && !o.isHealthy) || (b.isHealthy == o.isHealthy && b.downUntilNanos < o.downUntilNanos) { best = i }
        }
        return best
    }

    /// A refused connect, a timeout or a configured failure status: counted
    /// toward `max_fails` within `fail_timeout`.
    public func reportFailure(_ index: Int, now: UInt64) {
        guard usableCount > 1 else { return }
        backends[index].recordFailure(at: now, maxFails: config.maxFails, windowNanos: config.offlineTimeoutNanos,
                                      downNanos: config.offlineTimeoutNanos)
    }

    /// A response arrived from the backend.
    public func reportSuccess(_ index: Int) { backends[index].markUp() }

    /// Tries for one request: at most `config.attempts` distinct backends.
    public func failover(key: String) -> FailoverSequence { FailoverSequence(pool: self, key: key) }
}

/// The backends tried for one request, bounded by the pool's `attempts`.
public struct FailoverSequence {
    public let pool: BackendPool
    /// The request's balancing key.
    public let key: String
    public private(set) var tried: [Int] = []

    init(pool: BackendPool, key: String) {
        self.pool = pool
        self.key = key
    }

    /// The next backend to try, or nil when attempts are used up or none is usable.
    public mutating func next(now: UInt64) -> Int? {
        guard tried.count < pool.config.attempts, let i = pool.pick(key: key, now: now, excluding: tried) else { return nil }
        tried.append(i)
        return i
    }

    /// Whether the current failure may still be retried on another backend
    /// (only before any byte was sent to the client, and only for requests
    /// that are safe to repeat: the integration decides that part).
    public var attemptsLeft: Int { pool.config.attempts - tried.count }
}
