import Synchronization

/// The bytes that responses too large to store may take in `<dir>/proxy/tmp`
/// at once while they are spooled for coalesced waiters
/// (`cache.spool_capacity_bytes`). Without it, 50 clients coalesced on each of
/// a few multi-gigabyte responses could fill the disk. A response that does
/// not fit is not spooled: its waiters are handed over at once and fetch it
/// themselves, as they would from nginx (`CacheFill`, `ProxyPlugin`).
public final class SpoolBudget: Sendable {
    public let capacity: Int
    private let used = Atomic<Int>(0)

    public init(capacity: Int) { self.capacity = capacity }

    /// Bytes reserved now.
    public var reserved: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit; false (nothing taken) when they do not.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard bytes <= capacity - current else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ bytes: Int) { used.subtract(bytes, ordering: .relaxed) }
}

/// One spool's share of the budget: grows as its body does, given back
/// whole when the last holder (the leader's fill, the waiters' `StreamingBody`)
/// lets it go, which is when the unlinked file's space is freed too.
final class SpoolReservation: Sendable {
    let budget: SpoolBudget
    private let bytes = Mutex(0)

    init(budget: SpoolBudget) { self.budget = budget }

    /// Reserves up to `total` bytes in all; false when the budget cannot take them.
    func grow(to total: Int) -> Bool {
        bytes.withLock { held in
            guard total > held else { return true }
            guard budget.reserve(total - held) else { return false }
            held = total
            return true
        }
    }

    deinit { budget.release(bytes.withLock { $0 }) }
}
