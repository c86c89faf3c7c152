import Synchronization

/// At most one event per interval across threads (for log lines that could
/// otherwise repeat on every request).
final class RateLimit: Sendable {
    private let intervalNanos: UInt64
    private let last = Atomic<UInt64>(0)

    init(intervalNanos: UInt64) { self.intervalNanos = intervalNanos }

    /// True for the first caller after the interval has passed since the last true.
    func due(now: UInt64) -> Bool {
        let seen = last.load(ordering: .relaxed)
        guard seen == 0 || now &- seen >= intervalNanos else { return false }
        return last.compareExchange(expected: seen, desired: max(now, 1), ordering: .relaxed).exchanged
    }
}
