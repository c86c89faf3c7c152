/// A policy whose resident entries can be listed, so that `DuelingPolicy` can
/// hand them to another policy when it switches (and persist its shadows).
protocol MigratablePolicy: EvictionPolicy {
    /// Every resident entry with its state, in no particular order.
    func residentEntries() -> [(key: UInt64, size: Int, state: PolicyEntryState)]
    /// The size of resident `key`, nil when it is not resident.
    func residentSize(_ key: UInt64) -> Int?
    /// This policy's per-entry state as a coarse class shared by all policies:
    /// 0 new (not yet seen again), 1 seen again, 2 seen often.
    static func standing(_ state: PolicyEntryState) -> UInt64
    /// The state this policy gives an entry of `standing` (see above).
    static func state(standing: UInt64, sequence: UInt64) -> PolicyEntryState
    /// Takes the entries of another policy on a switch: `restore` unless the
    /// translated standings can overfill a region of this one.
    func adopt(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64]
}

extension MigratablePolicy {
    func adopt(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64] { restore(entries) }
}

extension SlotTable {
    /// The slots on lists below `listLimit` (the resident lists: ghost lists
    /// have the higher ids), as entries with `state`.
    func entries(below listLimit: Int32,
                 state: (Int32) -> PolicyEntryState) -> [(key: UInt64, size: Int, state: PolicyEntryState)] {
        linkedSlots().compactMap { s in
            list(s) < listLimit ? (key: key(s), size: size(s), state: state(s)) : nil
        }
    }

    /// The size of `key` when it is on a list below `listLimit`.
    func size(of key: UInt64, below listLimit: Int32) -> Int? {
        guard let s = slot(of: key), list(s) != SlotTable.none, list(s) < listLimit else { return nil }
        return size(s)
    }
}

extension WTinyLFUPolicy: MigratablePolicy {
    func residentEntries() -> [(key: UInt64, size: Int, state: PolicyEntryState)] {
        table.entries(below: Self.windowGhost) { s in
            PolicyEntryState(word: UInt64(table.list(s)), sequence: table.stamp(s))
        }
    }

    func residentSize(_ key: UInt64) -> Int? { table.size(of: key, below: Self.windowGhost) }

    /// Window 0, probation 1, protected 2: the regions are the classes.
    static func standing(_ state: PolicyEntryState) -> UInt64 { min(state.word, 2) }

    static func state(standing: UInt64, sequence: UInt64) -> PolicyEntryState {
        PolicyEntryState(word: min(standing, 2), sequence: sequence)
    }
}

extension SegmentedTinyLFUPolicy: MigratablePolicy {
    func residentEntries() -> [(key: UInt64, size: Int, state: PolicyEntryState)] {
        table.entries(below: Self.protected + 1) { s in state(ofSlot: s) }
    }

    func residentSize(_ key: UInt64) -> Int? { table.size(of: key, below: Self.protected + 1) }

    /// Window 0, probation 1, protected 2, as W-TinyLFU's.
    static func standing(_ state: PolicyEntryState) -> UInt64 { min(state.word, 2) }

    static func state(standing: UInt64, sequence: UInt64) -> PolicyEntryState {
        PolicyEntryState(word: min(standing, 2), sequence: sequence)
    }
}

extension S3FIFOPolicy: MigratablePolicy {
    func residentEntries() -> [(key: UInt64, size: Int, state: PolicyEntryState)] {
        table.entries(below: Self.ghost) { s in state(ofSlot: s) }
    }

    func residentSize(_ key: UInt64) -> Int? { table.size(of: key, below: Self.ghost) }

    /// Small 0; main 1, or 2 with a count.
    static func standing(_ state: PolicyEntryState) -> UInt64 {
        state.word & (1 << 8) == 0 ? 0 : (state.word & 3 > 0 ? 2 : 1)
    }

    /// Seen often: main with a count. New and seen again: the small queue,
    /// from which a hit moves an entry to main and an entry without one goes
    /// to the ghosts, as S3-FIFO treats its own new entries. "Seen again" is weak evidence
    /// from a TinyLFU (its probation also holds whatever left the window
    /// before the cache filled); in main without a count such entries went
    /// first and left no ghost, so a second request started them over in
    /// the small queue. Measured on the switches of the duel
    /// (Tools/hitratio/results, session 13): adaptsize 10% of the bytes
    /// 33.57% / B 32.94% -> 33.82% / B 33.27%, ARC P12 1% 17.25 -> 17.35,
    /// 10% 57.43 -> 57.64; ARC P3 5.21 -> 4.96 and 35.09 -> 34.70.
    static func state(standing: UInt64, sequence: UInt64) -> PolicyEntryState {
        PolicyEntryState(word: standing >= 2 ? 1 << 8 | 1 : 0, sequence: sequence)
    }
}

extension LRUPolicy: MigratablePolicy {
    func residentEntries() -> [(key: UInt64, size: Int, state: PolicyEntryState)] {
        table.entries(below: 1) { s in PolicyEntryState(word: 0, sequence: table.stamp(s)) }
    }

    func residentSize(_ key: UInt64) -> Int? { table.size(of: key, below: 1) }

    static func standing(_ state: PolicyEntryState) -> UInt64 { 1 }

    static func state(standing: UInt64, sequence: UInt64) -> PolicyEntryState {
        PolicyEntryState(word: 0, sequence: sequence)
    }
}
