/// The shared first step of every `restore`: duplicates removed (the last one
/// wins), sizes clamped to at least 1, and, when the entries do not all fit,
/// the oldest by `sequence` dropped.
struct RestorePlan {
    /// Entries to keep, oldest `sequence` first.
    var kept: [(key: UInt64, size: Int, state: PolicyEntryState)] = []
    var dropped: [UInt64] = []

    init(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)], capacity: Int,
         alreadyResident: (UInt64) -> Bool) {
        var seen = Set<UInt64>()
        var newestFirst = entries.map { (key: $0.key, size: max(1, $0.size), state: $0.state) }
        newestFirst.sort { $0.state.sequence > $1.state.sequence }
        var used = 0
        for e in newestFirst {
            guard seen.insert(e.key).inserted, !alreadyResident(e.key) else { continue }
            if used + e.size <= capacity {
                used += e.size
                kept.append(e)
            } else {
                dropped.append(e.key)
            }
        }
        kept.reverse()
    }
}
