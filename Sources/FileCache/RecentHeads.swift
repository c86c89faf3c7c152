import CapuchinServer
import CapuchinSystem

/// What a hit on an entry needs beyond the entry, for recently hit entries, in
/// a small direct-mapped table per worker. An entry keeps none of it (a
/// prebuilt head cost ~200 bytes an entry, the entity tag and origin path ~80
/// and ~190 more: see `CacheEntry`), so a hit derives it; but the hot entries
/// are hit over and over, and deriving (the date, a dozen copies, three
/// allocations) cost more than the lookup. Bounded: `slots` hits a worker.
///
/// A slot is keyed by the entry's address and admission time: what a hit
/// derives never changes for an entry, and a later entry at a freed entry's
/// address was admitted at another nanosecond (an entry copied with its
/// mapping keeps the time and all the rest). Only integers are kept of the
/// entry, so a slot pins nothing (its body is not in the metadata); the
/// metadata is the worker's own, so a hit touches no reference count another
/// worker touches, and is handed to the handler as it is (one reference).
/// The vary rule's answer is kept too (asking it costs a hash of the content type).
final class RecentHeads: Sendable {
    private struct Slot {
        var entry: ObjectIdentifier?
        var insertedAtNanos: Int64 = 0
        var rule: ObjectIdentifier?
        var metadata: FileMetadata?
    }

    private let tables: UnretainedReferences<Lock<[Slot]>>
    private let mask: Int

    /// A table for each worker numbered below `workers` (others derive each
    /// hit); `slots` is rounded up to a power of two.
    init(workers: Int, slots: Int = 256) {
        var n = 1
        while n < slots { n <<= 1 }
        mask = n - 1
        // Filled on a worker's first hit: most of the numbered workers may never run.
        tables = UnretainedReferences((0..<max(0, workers)).map { _ in Lock([], isolated: true) })
    }

    /// `entry`'s head (see `CacheEntry.headerBytes`), entity tag, origin path,
    /// and whether its responses vary by encoding under `rule`: derived at
    /// most once while the entry stays in `worker`'s table.
    func hit(of entry: CacheEntry, rule: (any EncodingVaryRule)?, worker: Int) -> FileMetadata {
        guard worker >= 0, worker < tables.count else { return Self.derive(entry, rule: rule, worker: worker) }
        let id = ObjectIdentifier(entry)
        // The address, less the bits every allocation shares (16-byte alignment).
        let i = Int(truncatingIfNeeded: UInt(bitPattern: id) >> 4) & mask
        let ruleID = rule.map { ObjectIdentifier($0) }
        return tables.with(worker) { $0.withLock { slots in
            if slots.isEmpty { slots = [Slot](repeating: Slot(), count: mask + 1) }
            if slots[i].entry == id, slots[i].insertedAtNanos == entry.insertedAtNanos, slots[i].rule == ruleID,
               let metadata = slots[i].metadata {
                return metadata
            }
            let metadata = Self.derive(entry, rule: rule, worker: worker)
            slots[i] = Slot(entry: id, insertedAtNanos: entry.insertedAtNanos, rule: ruleID, metadata: metadata)
            return metadata
        } }
    }

    private static func derive(_ entry: CacheEntry, rule: (any EncodingVaryRule)?, worker: Int) -> FileMetadata {
        let contentType = entry.contentType, identity = entry.identity
        let varies = rule?.varies(contentType: contentType, size: identity.size, workerID: worker) ?? false
        let etag = entry.etag
        return FileMetadata(identity: identity, size: identity.size, originPath: entry.originPath, contentEncoding: nil,
                            variesByEncoding: varies, contentType: contentType, etag: etag,
                            head: entry.headerBytes(etag: etag, varies: varies))
    }
}
