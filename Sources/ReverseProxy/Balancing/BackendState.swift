import Synchronization

/// Run-time state of one backend, shared by every worker: liveness and the
/// number of requests in flight. Lock-free.
public final class BackendState: Sendable {
    public let address: BackendAddress
    /// The backend is this server itself (a loop): never picked.
    public let isSelf: Bool
    /// Monotonic nanoseconds until which the backend is considered down (0: up).
    private let downUntil = Atomic<UInt64>(0)
    private let inFlightCount = Atomic<Int>(0)

    public init(address: BackendAddress, isSelf: Bool = false) {
        self.address = address
        self.isSelf = isSelf
    }

    /// Whether the backend may be picked at monotonic time `now`.
    public func isAlive(at now: UInt64) -> Bool { !isSelf && downUntil.load(ordering: .relaxed) <= now }

    /// A refusal or timeout: skip the backend until `now + timeout`.
    public func markDown(at now: UInt64, for timeoutNanos: UInt64) {
        downUntil.store(now &+ timeoutNanos, ordering: .relaxed)
    }

    /// A success: the backend is up again at once.
    public func markUp() {
        if downUntil.load(ordering: .relaxed) != 0 { downUntil.store(0, ordering: .relaxed) }
    }

    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// A request to this backend starts; pair with `requestFinished`.
    public func requestStarted() { inFlightCount.add(1, ordering: .relaxed) }
    public func requestFinished() { inFlightCount.subtract(1, ordering: .relaxed) }
}
