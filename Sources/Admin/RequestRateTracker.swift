import CapuchinSystem

/// Requests per second over the last second and the last minute, from samples
/// of a monotonically increasing request counter taken about once a second.
public final class RequestRateTracker: Sendable {
    private struct Sample { var nanos: UInt64; var count: UInt64 }
    private let samples = Lock<[Sample]>([])

    public init() {}

    /// Records the counter's value at `nanos` (monotonic clock).
    public func record(count: UInt64, nanos: UInt64) {
        samples.withLock { s in
            if let last = s.last, nanos <= last.nanos { return }
            s.append(Sample(nanos: nanos, count: count))
            // Keep a little over a minute of history.
            while let first = s.first, nanos - first.nanos > 61_000_000_000 { s.removeFirst() }
        }
    }

    /// The rate over about `window` seconds ending at the newest sample; 0 with fewer than two samples.
    public func rate(window seconds: Double) -> Double {
        samples.withLock { s in
            guard let newest = s.last, s.count >= 2 else { return 0 }
            let horizon = UInt64(seconds * 1e9)
            // The oldest sample inside the window, or the oldest there is.
            let base = s.first { newest.nanos - $0.nanos <= horizon } ?? s[0]
            let oldest = base.nanos == newest.nanos ? s[s.count - 2] : base
            let dt = Double(newest.nanos - oldest.nanos) / 1e9
            return dt > 0 ? Double(newest.count &- oldest.count) / dt : 0
        }
    }
}
