import Synchronization

/// A stored response's hits not yet written to the index and when its policy
/// state was last written there: hits write it at most once per
/// `ProxyBodyStore.touchIntervalNanos` (the index's commit interval), as the
/// file cache does, so a hot response costs the store one touch per commit.
/// Kept in the object's `ObjectMemo`, shared by the copies of one `CachedObject`.
struct HitTally: ~Copyable, Sendable {
    private let pending = Atomic<UInt64>(0)
    private let touchedAt = Atomic<UInt64>(0)

    init() {}

    /// Counts a hit at monotonic `now`; returns the hits to write when a touch is due.
    func hit(now: UInt64, every intervalNanos: UInt64) -> UInt64? {
        pending.add(1, ordering: .relaxed)
        let last = touchedAt.load(ordering: .relaxed)
        guard last == 0 || now &- last >= intervalNanos,
              touchedAt.compareExchange(expected: last, desired: max(1, now), ordering: .relaxed).exchanged else { return nil }
        return takePending()
    }

    /// The hits counted since the last touch, reset to zero.
    func takePending() -> UInt64 { pending.exchange(0, ordering: .relaxed) }
}
