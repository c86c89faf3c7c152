import CapuchinSystem
import Synchronization

/// Run-time state of one backend, shared by every worker: liveness and the
/// number of requests in flight. The liveness read on every pick is one
/// relaxed atomic load; failures (rare) take a small lock.
public final class BackendState: Sendable {
    public let address: BackendAddress
    /// The backend is this server itself (a loop): never picked.
    public let isSelf: Bool
    /// Monotonic nanoseconds until which the backend is considered down (0: up).
    private let downUntil = Atomic<UInt64>(0)
    private let inFlightCount = Atomic<Int>(0)
    /// The active health checks' verdict (true without checks).
    private let healthyFlag = Atomic<Bool>(true)
    /// Failures counted in the current window (nginx's max_fails within fail_timeout).
    private let window = Lock(FailureWindow())
    /// Whether `window` holds failures: lets a success skip the lock.
    private let hasFailures = Atomic<Bool>(false)

    struct FailureWindow {
        var start: UInt64 = 0
        var count = 0
    }

    public init(address: BackendAddress, isSelf: Bool = false) {
        self.address = address
        self.isSelf = isSelf
    }

    /// Whether the backend may be picked at monotonic time `now`.
    public func isAlive(at now: UInt64) -> Bool {
        !isSelf && downUntil.load(ordering: .relaxed) <= now && healthyFlag.load(ordering: .relaxed)
    }

    /// Whether the active health checks (if any) pass.
    public var isHealthy: Bool { healthyFlag.load(ordering: .relaxed) }

    private let checksPassedCount = Atomic<Int>(0)
    private let checksFailedCount = Atomic<Int>(0)
    public var checksPassed: Int { checksPassedCount.load(ordering: .relaxed) }
    public var checksFailed: Int { checksFailedCount.load(ordering: .relaxed) }

    func countCheck(passed: Bool) {
        if passed { checksPassedCount.add(1, ordering: .relaxed) } else { checksFailedCount.add(1, ordering: .relaxed) }
    }

    /// Set by the pool's health checker after `rise`/`fall` checks in a row.
    public func setHealthy(_ healthy: Bool) { healthyFlag.store(healthy, ordering: .relaxed) }

    /// Monotonic nanoseconds at which a down backend comes back (0: it is up).
    public var downUntilNanos: UInt64 { downUntil.load(ordering: .relaxed) }

    /// Skips the backend until `now + timeoutNanos`.
    public func markDown(at now: UInt64, for timeoutNanos: UInt64) {
        downUntil.store(now &+ timeoutNanos, ordering: .relaxed)
    }

    /// Counts a failure at `now`; the `maxFails`-th failure within `windowNanos`
    /// of the window's first marks the backend down for `downNanos` (as nginx's
    /// `max_fails` and `fail_timeout`). Returns whether it was marked down.
    @discardableResult
    public func recordFailure(at now: UInt64, maxFails: Int, windowNanos: UInt64, downNanos: UInt64) -> Bool {
        guard maxFails > 0 else { return false }
        let trip = window.withLock { w -> Bool in
            if w.count == 0 || now &- w.start >= windowNanos {
                w.start = now
                w.count = 0
            }
            w.count += 1
            hasFailures.store(true, ordering: .relaxed)
            if w.count < maxFails { return false }
            w.count = 0
            return true
        }
        if trip { markDown(at: now, for: downNanos) }
        return trip
    }

    /// A success: the backend is up again at once and its failures are forgotten.
    public func markUp() {
        if downUntil.load(ordering: .relaxed) != 0 { downUntil.store(0, ordering: .relaxed) }
        if hasFailures.load(ordering: .relaxed) {
            hasFailures.store(false, ordering: .relaxed)
            window.withLock { $0.count = 0 }
        }
    }

    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// A request to this backend starts; pair with `requestFinished`.
    public func requestStarted() { inFlightCount.add(1, ordering: .relaxed) }
    public func requestFinished() { inFlightCount.subtract(1, ordering: .relaxed) }
}
