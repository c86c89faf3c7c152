/// The entries of one policy addressed by slot number, each slot on at most one
/// of a set of intrusive doubly linked lists. An array of slots and a free
/// chain instead of class nodes: after warm-up, inserting, moving and deleting
/// entries allocates nothing, and the server calls this on every hit.
///
/// Lists run from `head` (the newest end) to `tail` (the oldest end); `next`
/// points towards the tail. Every link stamps the slot from a clock that only
/// grows, so sorting by stamp and linking again rebuilds every list's order.
struct SlotTable {
    static let none: Int32 = -1

    /// One slot's fields together: moving an entry touches one cache line, not
    /// one in each of seven parallel arrays, and the links are rewritten through
    /// one pointer (each element written to a parallel array checked that
    /// array's uniqueness: twelve calls a hit).
    private struct Slot {
        var key: UInt64
        var size: Int
        var stamp: UInt64
        var prev: Int32
        var next: Int32
        /// The list the slot is on, or `none`.
        var list: Int32
        /// Policy-specific bits (a frequency, a visited flag, ...).
        var bits: UInt32
    }

    /// Slot by key: a hit looks its key up here (a Dictionary hashed the key,
    /// already a hash, again with SipHash: ~134 instructions a hit).
    private(set) var slotOf = HashKeyedTable<Int32>()
    private var slots: [Slot] = []
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
        let fresh = Slot(key: key, size: size, stamp: 0, prev: Self.none, next: Self.none, list: Self.none, bits: 0)
        let s: Int32
        if freeHead != Self.none {
            s = freeHead
            freeHead = slots[Int(s)].next
            slots[Int(s)] = fresh
        } else {
            s = Int32(slots.count)
            slots.append(fresh)
        }
        slotOf[key] = s
        return s
    }

    /// Unlinks (if linked) and frees `slot`.
    mutating func delete(_ slot: Int32) {
        unlink(slot)
        let i = Int(slot)
        slotOf.removeValue(forKey: slots[i].key)
        slots[i].next = freeHead
        freeHead = slot
    }

    /// Links `slot` at the head of list `id`, first unlinking it from any list.
    /// `stamp` nil: a fresh stamp from the clock; otherwise that stamp is kept
    /// (rebuilding after a restore or an aging pass).
    mutating func pushHead(_ slot: Int32, list id: Int32, stamp: UInt64? = nil) {
        let given: UInt64
        if let stamp {
            given = stamp
            if stamp >= clock { clock = stamp &+ 1 }
        } else {
            given = clock
            clock &+= 1
        }
        let i = Int(slot), l = Int(id)
        precondition(i >= 0 && i < slots.count && l >= 0 && l < lists.count, "no such slot or list")
        slots.withUnsafeMutableBufferPointer { s in
            lists.withUnsafeMutableBufferPointer { lists in
                Self.unlink(i, s, lists)
                s[i].stamp = given
                let h = lists[l].head
                s[i].prev = Self.none
                s[i].next = h
                if h != Self.none { s[Int(h)].prev = slot } else { lists[l].tail = slot }
                lists[l].head = slot
                lists[l].count += 1
                lists[l].weight += s[i].size
                s[i].list = id
            }
        }
    }

    /// Takes `slot` off its list; no-op when on none.
    mutating func unlink(_ slot: Int32) {
        let i = Int(slot)
        precondition(i >= 0 && i < slots.count, "no such slot")
        slots.withUnsafeMutableBufferPointer { s in
            lists.withUnsafeMutableBufferPointer { lists in Self.unlink(i, s, lists) }
        }
    }

    @inline(__always)
    private static func unlink(_ i: Int, _ s: UnsafeMutableBufferPointer<Slot>, _ lists: UnsafeMutableBufferPointer<SlotList>) {
        let l = s[i].list
        guard l != none else { return }
        let p = s[i].prev, n = s[i].next
        if p != none { s[Int(p)].next = n } else { lists[Int(l)].head = n }
        if n != none { s[Int(n)].prev = p } else { lists[Int(l)].tail = p }
        lists[Int(l)].count -= 1
        lists[Int(l)].weight -= s[i].size
        s[i].prev = none
        s[i].next = none
        s[i].list = none
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

    func key(_ slot: Int32) -> UInt64 { slots[Int(slot)].key }
    func size(_ slot: Int32) -> Int { slots[Int(slot)].size }
    func list(_ slot: Int32) -> Int32 { slots[Int(slot)].list }
    func stamp(_ slot: Int32) -> UInt64 { slots[Int(slot)].stamp }
    /// Towards the head (newer).
    func newer(_ slot: Int32) -> Int32 { slots[Int(slot)].prev }
    /// Towards the tail (older).
    func older(_ slot: Int32) -> Int32 { slots[Int(slot)].next }
    /// The policy's bits of `slot`.
    func bits(_ slot: Int32) -> UInt32 { slots[Int(slot)].bits }
    mutating func setBits(_ slot: Int32, _ bits: UInt32) { slots[Int(slot)].bits = bits }

    /// Every slot on a list, in no particular order.
    func linkedSlots() -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        for (_, s) in slotOf where slots[Int(s)].list != SlotTable.none { out.append(s) }
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
