/// The entries of one policy in parallel arrays addressed by slot number, each
/// slot on at most one of a set of intrusive doubly linked lists. Arrays and a
/// free chain instead of class nodes: after warm-up, inserting, moving and
/// deleting entries allocates nothing, and the server calls this on every hit.
///
/// Lists run from `head` (the newest end) to `tail` (the oldest end); `next`
/// points towards the tail. Every link stamps the slot from a clock that only
/// grows, so sorting by stamp and linking again rebuilds every list's order.
struct SlotTable {
    static let none: Int32 = -1

    private(set) var slotOf: [UInt64: Int32] = [:]
    private(set) var keys: [UInt64] = []
    private(set) var sizes: [Int] = []
    private(set) var prev: [Int32] = []
    private(set) var next: [Int32] = []
    /// The list a slot is on, or `none`.
    private(set) var listOf: [Int32] = []
    private(set) var stamps: [UInt64] = []
    /// Policy-specific per-entry bits (a frequency, a visited flag, ...).
    var bits: [UInt32] = []
    private(set) var lists: [SlotList]
    /// The next stamp to hand out.
    private(set) var clock: UInt64 = 1
    private var freeHead: Int32 = none

    init(listCount: Int) {
        lists = Array(repeating: SlotList(), count: listCount)
    }

    var count: Int { slotOf.count }

    func slot(of key: UInt64) -> Int32? { slotOf[key] }

    /// A new slot for `key` (which must be absent), on no list.
    mutating func insert(key: UInt64, size: Int) -> Int32 {
        let s: Int32
        if freeHead != SlotTable.none {
            s = freeHead
            freeHead = next[Int(s)]
            let i = Int(s)
            keys[i] = key; sizes[i] = size; prev[i] = SlotTable.none; next[i] = SlotTable.none
            listOf[i] = SlotTable.none; stamps[i] = 0; bits[i] = 0
        } else {
            s = Int32(keys.count)
            keys.append(key); sizes.append(size); prev.append(SlotTable.none); next.append(SlotTable.none)
            listOf.append(SlotTable.none); stamps.append(0); bits.append(0)
        }
        slotOf[key] = s
        return s
    }

    /// Unlinks (if linked) and frees `slot`.
    mutating func delete(_ slot: Int32) {
        unlink(slot)
        slotOf.removeValue(forKey: keys[Int(slot)])
        next[Int(slot)] = freeHead
        freeHead = slot
    }

    /// Links `slot` at the head of list `id`, first unlinking it from any list.
    /// `stamp` nil: a fresh stamp from the clock; otherwise that stamp is kept
    /// (rebuilding after a restore or an aging pass).
    mutating func pushHead(_ slot: Int32, list id: Int32, stamp: UInt64? = nil) {
        unlink(slot)
        let i = Int(slot), l = Int(id)
        if let stamp {
            stamps[i] = stamp
            if stamp >= clock { clock = stamp &+ 1 }
        } else {
            stamps[i] = clock
            clock &+= 1
        }
        let h = lists[l].head
        prev[i] = SlotTable.none
        next[i] = h
        if h != SlotTable.none { prev[Int(h)] = slot } else { lists[l].tail = slot }
        lists[l].head = slot
        lists[l].count += 1
        lists[l].weight += sizes[i]
        listOf[i] = id
    }

    /// Takes `slot` off its list; no-op when on none.
    mutating func unlink(_ slot: Int32) {
        let i = Int(slot)
        let l = listOf[i]
        guard l != SlotTable.none else { return }
        let p = prev[i], n = next[i]
        if p != SlotTable.none { next[Int(p)] = n } else { lists[Int(l)].head = n }
        if n != SlotTable.none { prev[Int(n)] = p } else { lists[Int(l)].tail = p }
        lists[Int(l)].count -= 1
        lists[Int(l)].weight -= sizes[i]
        prev[i] = SlotTable.none
        next[i] = SlotTable.none
        listOf[i] = SlotTable.none
    }

    /// Adds a list (for policies with a varying number of them) and returns its id.
    mutating func addList() -> Int32 {
        lists.append(SlotList())
        return Int32(lists.count - 1)
    }

    func head(_ id: Int32) -> Int32 { lists[Int(id)].head }
    func tail(_ id: Int32) -> Int32 { lists[Int(id)].tail }
    func weight(_ id: Int32) -> Int { lists[Int(id)].weight }
    func length(_ id: Int32) -> Int { lists[Int(id)].count }

    func key(_ slot: Int32) -> UInt64 { keys[Int(slot)] }
    func size(_ slot: Int32) -> Int { sizes[Int(slot)] }
    func list(_ slot: Int32) -> Int32 { listOf[Int(slot)] }
    func stamp(_ slot: Int32) -> UInt64 { stamps[Int(slot)] }
    /// Towards the head (newer).
    func newer(_ slot: Int32) -> Int32 { prev[Int(slot)] }
    /// Towards the tail (older).
    func older(_ slot: Int32) -> Int32 { next[Int(slot)] }

    /// Every slot on a list, in no particular order.
    func linkedSlots() -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        for (_, s) in slotOf where listOf[Int(s)] != SlotTable.none { out.append(s) }
        return out
    }

    /// Forgets every entry and list content (keeps the number of lists).
    mutating func removeAll() {
        let n = lists.count
        self = SlotTable(listCount: n)
    }
}

/// One intrusive list of a `SlotTable`.
struct SlotList {
    var head: Int32 = SlotTable.none
    var tail: Int32 = SlotTable.none
    var count = 0
    /// Sum of the sizes on the list.
    var weight = 0
}
