import CachePolicies

/// A plain byte-sized LRU for the cache's tests until the policies land in `main`.
final class TestLRU: EvictionPolicy {
    let name = "test-lru"
    let capacity: Int
    private(set) var used = 0
    private var order: [UInt64] = []            // least recent first
    private var sizes: [UInt64: Int] = [:]
    private var clock: UInt64 = 0
    private var stamps: [UInt64: UInt64] = [:]

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { sizes.count }
    func contains(_ key: UInt64) -> Bool { sizes[key] != nil }

    func recordHit(_ key: UInt64) {
        guard sizes[key] != nil else { return }
        order.removeAll { $0 == key }
        order.append(key)
        clock += 1
        stamps[key] = clock
    }

    func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64]) {
        if size > capacity { return (false, []) }
        var evicted: [UInt64] = []
        while used + size > capacity, let victim = order.first {
            order.removeFirst()
            used -= sizes.removeValue(forKey: victim)!
            stamps[victim] = nil
            evicted.append(victim)
        }
        order.append(key)
        sizes[key] = size
        used += size
        clock += 1
        stamps[key] = clock
        return (true, evicted)
    }

    func remove(_ key: UInt64) {
        guard let s = sizes.removeValue(forKey: key) else { return }
        used -= s
        order.removeAll { $0 == key }
        stamps[key] = nil
    }

    func state(of key: UInt64) -> PolicyEntryState? { stamps[key].map { PolicyEntryState(word: 0, sequence: $0) } }

    func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        var dropped: [UInt64] = []
        for e in entries.sorted(by: { $0.state.sequence > $1.state.sequence }) {
            if used + e.size > capacity { dropped.append(e.key); continue }
            order.insert(e.key, at: 0)
            sizes[e.key] = e.size
            used += e.size
            stamps[e.key] = e.state.sequence
            clock = max(clock, e.state.sequence)
        }
        return dropped
    }
}
