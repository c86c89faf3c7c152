/// S3-FIFO (Yang et al., SOSP 2023): a small FIFO that filters one-hit wonders
/// (10% of the capacity), a main FIFO with lazy promotion (2-bit counts, an
/// entry with a count is reinserted instead of evicted), and a ghost FIFO of
/// keys recently evicted from the small queue, which go straight to main.
public final class S3FIFOPolicy: EvictionPolicy {
    public let name = "s3fifo"
    public let capacity: Int
    public private(set) var used = 0
    static let small: Int32 = 0, main: Int32 = 1, ghost: Int32 = 2
    private let smallTarget: Int
    /// Ghost keys keep their sizes; their total is bounded by the main share.
    private let ghostLimit: Int
    /// Readable for `MigratablePolicy`.
    private(set) var table = SlotTable(listCount: 3)
    private var evicted: [UInt64] = []

    public init(capacity: Int, smallFraction: Double = 0.1) {
        self.capacity = max(0, capacity)
        smallTarget = max(1, Int((Double(self.capacity) * smallFraction).rounded()))
        ghostLimit = max(1, self.capacity - smallTarget)
    }

    public var count: Int { table.length(Self.small) + table.length(Self.main) }

    public func contains(_ key: UInt64) -> Bool { resident(key) != nil }

    private func resident(_ key: UInt64) -> Int32? {
        guard let s = table.slot(of: key), table.list(s) != Self.ghost else { return nil }
        return s
    }

    public func recordHit(_ key: UInt64) {
        guard let s = resident(key) else { return }
        table.setBits(s, min(3, table.bits(s) + 1))
    }

    public func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64]) {
        let size = max(1, size)
        if resident(key) != nil {
            recordHit(key)
            return (true, [])
        }
        guard size <= capacity else { return (false, []) }
        evicted.removeAll(keepingCapacity: true)
        var target = Self.small
        if let g = table.slot(of: key) {
            table.delete(g)
            target = Self.main
        }
        while used + size > capacity {
            if table.weight(Self.small) > smallTarget || table.length(Self.main) == 0 {
                evictSmall()
            } else {
                evictMain()
            }
        }
        let s = table.insert(key: key, size: size)
        table.pushHead(s, list: target)
        used += size
        return (true, evicted.isEmpty ? [] : evicted)
    }

    private func evictSmall() {
        let t = table.tail(Self.small)
        if table.bits(t) > 0 {
            table.setBits(t, 0)
            table.pushHead(t, list: Self.main)
            return
        }
        evicted.append(table.key(t))
        used -= table.size(t)
        table.pushHead(t, list: Self.ghost)
        while table.weight(Self.ghost) > ghostLimit { table.delete(table.tail(Self.ghost)) }
    }

    private func evictMain() {
        let t = table.tail(Self.main)
        if table.bits(t) > 0 {
            table.setBits(t, table.bits(t) - 1)
            table.pushHead(t, list: Self.main)
            return
        }
        evicted.append(table.key(t))
        used -= table.size(t)
        table.delete(t)
    }

    public func remove(_ key: UInt64) {
        guard let s = resident(key) else { return }
        used -= table.size(s)
        table.delete(s)
    }

    /// word: bits 0-1 the count, bit 8 set for the main queue.
    public func state(of key: UInt64) -> PolicyEntryState? {
        resident(key).map(state(ofSlot:))
    }

    func state(ofSlot s: Int32) -> PolicyEntryState {
        let queue: UInt64 = table.list(s) == Self.main ? 1 << 8 : 0
        return PolicyEntryState(word: queue | UInt64(table.bits(s)), sequence: table.stamp(s))
    }

    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        let plan = RestorePlan(entries, capacity: capacity - used, alreadyResident: contains)
        for e in plan.kept {
            if let g = table.slot(of: e.key) { table.delete(g) }
            let s = table.insert(key: e.key, size: e.size)
            table.pushHead(s, list: e.state.word & (1 << 8) != 0 ? Self.main : Self.small, stamp: e.state.sequence)
            table.setBits(s, UInt32(e.state.word & 3))
            used += e.size
        }
        return plan.dropped
    }

    /// Whether `key` is in the ghost queue (tests, diagnostics).
    func isGhost(_ key: UInt64) -> Bool {
        guard let s = table.slot(of: key) else { return false }
        return table.list(s) == Self.ghost
    }

    /// The ghost queue, oldest first, as (key, size, stamp) triples.
    public func exportGlobalState() -> [UInt8] {
        var w = StateWriter(policy: name, capacity: capacity)
        var ghosts: [UInt64] = []
        var s = table.tail(Self.ghost)
        while s != SlotTable.none {
            ghosts += [table.key(s), UInt64(table.size(s)), table.stamp(s)]
            s = table.newer(s)
        }
        w.put(ghosts)
        return w.bytes
    }

    @discardableResult
    public func importGlobalState(_ bytes: [UInt8]) -> Bool {
        guard var r = StateReader(bytes, policy: name, capacity: capacity),
              let g = r.uint64s(limit: 3 * (ghostLimit + 1)), g.count % 3 == 0, r.isAtEnd else { return false }
        while table.tail(Self.ghost) != SlotTable.none { table.delete(table.tail(Self.ghost)) }
        for i in stride(from: 0, to: g.count, by: 3) where table.slot(of: g[i]) == nil {
            let s = table.insert(key: g[i], size: Int(clamping: max(1, g[i + 1])))
            table.pushHead(s, list: Self.ghost, stamp: g[i + 2])
        }
        while table.weight(Self.ghost) > ghostLimit { table.delete(table.tail(Self.ghost)) }
        return true
    }
}
