/// Least recently used: one list, hits move to the head, evictions take the tail.
public final class LRUPolicy: EvictionPolicy {
    public let name = "lru"
    public let capacity: Int
    public private(set) var used = 0
    /// Readable for `MigratablePolicy`.
    private(set) var table = SlotTable(listCount: 1)
    private var evicted: [UInt64] = []

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    public var count: Int { table.count }

    public func contains(_ key: UInt64) -> Bool { table.slot(of: key) != nil }

    public func recordHit(_ key: UInt64) {
        guard let s = table.slot(of: key) else { return }
        table.pushHead(s, list: 0)
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
            let victim = table.tail(0)
            evicted.append(table.key(victim))
            used -= table.size(victim)
            table.delete(victim)
        }
        let s = table.insert(key: key, size: size)
        table.pushHead(s, list: 0)
        used += size
        return (true, evicted.isEmpty ? [] : evicted)
    }

    public func remove(_ key: UInt64) {
        guard let s = table.slot(of: key) else { return }
        used -= table.size(s)
        table.delete(s)
    }

    public func state(of key: UInt64) -> PolicyEntryState? {
        guard let s = table.slot(of: key) else { return nil }
        return PolicyEntryState(word: 0, sequence: table.stamp(s))
    }

    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        let plan = RestorePlan(entries, capacity: capacity - used, alreadyResident: contains)
        for e in plan.kept {
            let s = table.insert(key: e.key, size: e.size)
            table.pushHead(s, list: 0, stamp: e.state.sequence)
            used += e.size
        }
        return plan.dropped
    }
}
