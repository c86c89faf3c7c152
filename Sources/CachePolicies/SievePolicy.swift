/// SIEVE (Zhang et al., NSDI 2024): one FIFO list and a hand. A hit only sets
/// a visited bit; the hand walks from the oldest entry towards the newest,
/// clearing bits, and evicts the first unvisited entry it meets.
public final class SievePolicy: EvictionPolicy {
    public let name = "sieve"
    public let capacity: Int
    public private(set) var used = 0
    private var table = SlotTable(listCount: 1)
    private var hand = SlotTable.none
    private var evicted: [UInt64] = []

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    public var count: Int { table.count }

    public func contains(_ key: UInt64) -> Bool { table.slot(of: key) != nil }

    public func recordHit(_ key: UInt64) {
        guard let s = table.slot(of: key) else { return }
        table.setBits(s, 1)
    }

    public func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64]) {
        let size = max(1, size)
        if table.slot(of: key) != nil {
            recordHit(key)
            return (true, [])
        }
        guard size <= capacity else { return (false, []) }
        evicted.removeAll(keepingCapacity: true)
        while used + size > capacity {
            var s = hand == SlotTable.none ? table.tail(0) : hand
            while table.bits(s) != 0 {
                table.setBits(s, 0)
                s = table.newer(s)
                if s == SlotTable.none { s = table.tail(0) }
            }
            evicted.append(table.key(s))
            hand = s
            deleteSlot(s)
        }
        let s = table.insert(key: key, size: size)
        table.pushHead(s, list: 0)
        used += size
        return (true, evicted.isEmpty ? [] : evicted)
    }

    public func remove(_ key: UInt64) {
        guard let s = table.slot(of: key) else { return }
        deleteSlot(s)
    }

    public func state(of key: UInt64) -> PolicyEntryState? {
        guard let s = table.slot(of: key) else { return nil }
        return PolicyEntryState(word: UInt64(table.bits(s)), sequence: table.stamp(s))
    }

    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        let plan = RestorePlan(entries, capacity: capacity - used, alreadyResident: contains)
        for e in plan.kept {
            let s = table.insert(key: e.key, size: e.size)
            table.pushHead(s, list: 0, stamp: e.state.sequence)
            table.setBits(s, e.state.word & 1 == 0 ? 0 : 1)
            used += e.size
        }
        return plan.dropped
    }

    /// The hand, as the key it points at (or none).
    public func exportGlobalState() -> [UInt8] {
        var w = StateWriter(policy: name, capacity: capacity)
        w.put(hand == SlotTable.none ? [] : [table.key(hand)])
        return w.bytes
    }

    @discardableResult
    public func importGlobalState(_ bytes: [UInt8]) -> Bool {
        guard var r = StateReader(bytes, policy: name, capacity: capacity),
              let h = r.uint64s(limit: 1), r.isAtEnd else { return false }
        hand = h.first.flatMap { table.slot(of: $0) } ?? SlotTable.none
        return true
    }

    /// Moves the hand off `s` (to the next newer entry) before deleting it.
    private func deleteSlot(_ s: Int32) {
        if hand == s { hand = table.newer(s) }
        used -= table.size(s)
        table.delete(s)
    }
}
