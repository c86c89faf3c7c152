/// Least frequently used in O(1) (Shah, Mitra, Matani 2010): a doubly linked
/// list of frequency nodes in ascending order, each holding the entries with
/// that access count from the least to the most recently used. A hit moves an
/// entry to the next node; eviction takes the least recently used entry of the
/// lowest node. Optional aging halves every count so old popularity fades.
public final class LFUPolicy: EvictionPolicy {
    /// When counts are halved (each becomes max(1, count / 2)).
    public enum Aging: Sendable, Equatable {
        case never
        /// After every `n` requests (hits and misses).
        case everyRequests(Int)
        /// When some entry's count passes `limit`.
        case whenFrequencyExceeds(UInt64)
    }

    public let name = "lfu"
    public let capacity: Int
    public let aging: Aging
    public private(set) var used = 0
    /// Table lists are the frequency nodes; these arrays link them in order.
    private var table = SlotTable(listCount: 0)
    private var nodeFrequency: [UInt64] = []
    private var nodeLower: [Int32] = []
    private var nodeHigher: [Int32] = []
    private var spareNodes: [Int32] = []
    private var lowest = SlotTable.none
    private var highest = SlotTable.none
    /// Requests since the last aging pass (for `.everyRequests`).
    private var requestsSinceAging = 0
    private var evicted: [UInt64] = []

    public init(capacity: Int, aging: Aging = .never) {
        self.capacity = max(0, capacity)
        self.aging = aging
    }

    public var count: Int { table.count }

    public func contains(_ key: UInt64) -> Bool { table.slot(of: key) != nil }

    /// The access count of a resident key.
    public func frequency(of key: UInt64) -> UInt64? {
        table.slot(of: key).map { nodeFrequency[Int(table.list($0))] }
    }

    public func recordHit(_ key: UInt64) {
        guard let s = table.slot(of: key) else { return }
        let node = table.list(s)
        let f = nodeFrequency[Int(node)] + 1
        var target = nodeHigher[Int(node)]
        if target == SlotTable.none || nodeFrequency[Int(target)] != f {
            target = makeNode(frequency: f, above: node)
        }
        table.pushHead(s, list: target)
        if table.length(node) == 0 { dropNode(node) }
        countRequest()
    }

    public func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64]) {
        let size = max(1, size)
        if table.slot(of: key) != nil {
            recordHit(key)
            return (true, [])
        }
        countRequest()
        guard size <= capacity else { return (false, []) }
        evicted.removeAll(keepingCapacity: true)
        while used + size > capacity {
            let victim = table.tail(lowest)
            evicted.append(table.key(victim))
            deleteSlot(victim)
        }
        let s = table.insert(key: key, size: size)
        link(s, frequency: 1, stamp: nil)
        used += size
        return (true, evicted.isEmpty ? [] : evicted)
    }

    public func remove(_ key: UInt64) {
        guard let s = table.slot(of: key) else { return }
        deleteSlot(s)
    }

    public func state(of key: UInt64) -> PolicyEntryState? {
        guard let s = table.slot(of: key) else { return nil }
        return PolicyEntryState(word: nodeFrequency[Int(table.list(s))], sequence: table.stamp(s))
    }

    public func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] {
        let plan = RestorePlan(entries, capacity: capacity - used, alreadyResident: contains)
        var slots: [(slot: Int32, frequency: UInt64, stamp: UInt64)] = []
        for e in plan.kept {
            let s = table.insert(key: e.key, size: e.size)
            used += e.size
            slots.append((s, max(1, e.state.word), e.state.sequence))
        }
        for s in table.linkedSlots() {
            slots.append((s, nodeFrequency[Int(table.list(s))], table.stamp(s)))
        }
        rebuild(slots)
        return plan.dropped
    }

    public func exportGlobalState() -> [UInt8] {
        var w = StateWriter(policy: name, capacity: capacity)
        w.put(requestsSinceAging)
        return w.bytes
    }

    @discardableResult
    public func importGlobalState(_ bytes: [UInt8]) -> Bool {
        guard var r = StateReader(bytes, policy: name, capacity: capacity),
              let n = r.int(), n >= 0, r.isAtEnd else { return false }
        requestsSinceAging = n
        return true
    }

    // MARK: - Frequency nodes

    private func makeNode(frequency: UInt64, above lower: Int32) -> Int32 {
        let id: Int32
        if let spare = spareNodes.popLast() {
            id = spare
            nodeFrequency[Int(id)] = frequency
        } else {
            id = table.addList()
            nodeFrequency.append(frequency)
            nodeLower.append(SlotTable.none)
            nodeHigher.append(SlotTable.none)
        }
        let higher = lower == SlotTable.none ? lowest : nodeHigher[Int(lower)]
        nodeLower[Int(id)] = lower
        nodeHigher[Int(id)] = higher
        if lower != SlotTable.none { nodeHigher[Int(lower)] = id } else { lowest = id }
        if higher != SlotTable.none { nodeLower[Int(higher)] = id } else { highest = id }
        return id
    }

    private func dropNode(_ id: Int32) {
        let lower = nodeLower[Int(id)], higher = nodeHigher[Int(id)]
        if lower != SlotTable.none { nodeHigher[Int(lower)] = higher } else { lowest = higher }
        if higher != SlotTable.none { nodeLower[Int(higher)] = lower } else { highest = lower }
        spareNodes.append(id)
    }

    /// Links `slot` as the most recent entry of count `frequency`, which must be
    /// 1 or at least the highest count present.
    private func link(_ slot: Int32, frequency: UInt64, stamp: UInt64?) {
        var node: Int32
        if frequency == 1 {
            node = lowest
            if node == SlotTable.none || nodeFrequency[Int(node)] != 1 {
                node = makeNode(frequency: 1, above: SlotTable.none)
            }
        } else {
            node = highest
            if node == SlotTable.none || nodeFrequency[Int(node)] != frequency {
                node = makeNode(frequency: frequency, above: highest)
            }
        }
        table.pushHead(slot, list: node, stamp: stamp)
    }

    private func deleteSlot(_ s: Int32) {
        let node = table.list(s)
        used -= table.size(s)
        table.delete(s)
        if table.length(node) == 0 { dropNode(node) }
    }

    /// Relinks every given slot, ordered by (count, stamp), keeping stamps.
    private func rebuild(_ slots: [(slot: Int32, frequency: UInt64, stamp: UInt64)]) {
        let ordered = slots.sorted { ($0.frequency, $0.stamp) < ($1.frequency, $1.stamp) }
        var node = lowest
        while node != SlotTable.none {
            let higher = nodeHigher[Int(node)]
            while table.head(node) != SlotTable.none { table.unlink(table.head(node)) }
            dropNode(node)
            node = higher
        }
        for e in ordered {
            var n = highest
            if n == SlotTable.none || nodeFrequency[Int(n)] != e.frequency {
                n = makeNode(frequency: e.frequency, above: highest)
            }
            table.pushHead(e.slot, list: n, stamp: e.stamp)
        }
    }

    // MARK: - Aging

    private func countRequest() {
        switch aging {
        case .never:
            return
        case .everyRequests(let n):
            requestsSinceAging += 1
            if requestsSinceAging >= max(1, n) {
                requestsSinceAging = 0
                halveCounts()
            }
        case .whenFrequencyExceeds(let limit):
            if highest != SlotTable.none && nodeFrequency[Int(highest)] > limit { halveCounts() }
        }
    }

    private func halveCounts() {
        let slots = table.linkedSlots().map { s in
            (slot: s, frequency: max(1, nodeFrequency[Int(table.list(s))] / 2), stamp: table.stamp(s))
        }
        rebuild(slots)
    }
}
