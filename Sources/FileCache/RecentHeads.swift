import CapuchinServer
import CapuchinSystem

/// The heads of recently hit entries, in a small direct-mapped table per
/// worker. An entry keeps no head (a prebuilt copy cost ~200 bytes an entry,
/// more than its index), so a hit builds one; but the hot entries are hit
/// over and over, and building a head (the date, a dozen copies, an
/// allocation) cost more than the lookup. Bounded: `slots` heads a worker.
///
/// A slot is keyed by the entry's address and admission time: an entry's
/// head never changes, and a later entry at a freed entry's address was
/// admitted at another nanosecond (an entry copied with its mapping keeps the
/// time and the head). Only integers are kept of the entry, so a slot pins
/// nothing and a lookup touches no reference count another worker touches.
/// The vary rule's answer for the entry is kept with its head (asking it
/// costs a hash of the content type).
final class RecentHeads: Sendable {
    private struct Slot {
        var entry: ObjectIdentifier?
        var insertedAtNanos: Int64 = 0
        var rule: ObjectIdentifier?
        var varies = false
        var head: [UInt8] = []
    }

    private let tables: [Lock<[Slot]>]
    private let mask: Int

    /// A table for each worker numbered below `workers` (others build each
    /// head); `slots` is rounded up to a power of two.
    init(workers: Int, slots: Int = 256) {
        var n = 1
        while n < slots { n <<= 1 }
        mask = n - 1
        // Filled on a worker's first hit: most of the numbered workers may never run.
        tables = (0..<max(0, workers)).map { _ in Lock([], isolated: true) }
    }

    /// `entry`'s head (see `CacheEntry.headerBytes`) and whether its responses
    /// vary by encoding under `rule`, worked out at most once while the entry
    /// stays in `worker`'s table.
    func head(of entry: CacheEntry, rule: (any EncodingVaryRule)?, worker: Int) -> (head: [UInt8], varies: Bool) {
        guard worker >= 0, worker < tables.count else { return Self.make(entry, rule: rule, worker: worker) }
        let id = ObjectIdentifier(entry), i = Int(truncatingIfNeeded: entry.hash) & mask
        let ruleID = rule.map { ObjectIdentifier($0) }
        return tables[worker].withLock { slots in
            if slots.isEmpty { slots = [Slot](repeating: Slot(), count: mask + 1) }
            if slots[i].entry == id, slots[i].insertedAtNanos == entry.insertedAtNanos, slots[i].rule == ruleID {
                return (slots[i].head, slots[i].varies)
            }
            let made = Self.make(entry, rule: rule, worker: worker)
            slots[i] = Slot(entry: id, insertedAtNanos: entry.insertedAtNanos, rule: ruleID, varies: made.varies, head: made.head)
            return made
        }
    }

    private static func make(_ entry: CacheEntry, rule: (any EncodingVaryRule)?, worker: Int) -> (head: [UInt8], varies: Bool) {
        let varies = rule?.varies(contentType: entry.contentType, size: entry.identity.size, workerID: worker) ?? false
        return (entry.headerBytes(varies: varies), varies)
    }
}
