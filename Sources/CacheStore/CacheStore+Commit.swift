import CLMDB
import Foundation

/// One batch's write transaction. The entry totals (`StoreTotals`) change in
/// the same transaction as the records they count, so no crash can make them disagree.
extension CacheStore {
    /// Applies one batch in one write transaction. Throws `StoreError.lmdb`
    /// (the transaction is then aborted: nothing of the batch is applied).
    func apply(_ ops: [StoreOperation], _ touches: [String: PendingTouch]) throws {
        envLock.readLock()
        defer { envLock.unlock() }
        let e = env
        try e.write { txn in
            try fault(.commit, call: "mdb_txn_commit")
            var totals = try currentTotals(txn, e)
            let tags = TagIndex(dbi: e.tags, txn: txn)
            for op in ops {
                switch op {
                case .put(let r):
                    let k = StoreKey.lmdbKey(r.key), v = EntryRecordCodec.encode(r)
                    // A replace with the same tags (a 304's update, a soft purge) leaves the index as it is.
                    var oldTags: [String] = []
                    if let old = try txn.get(e.entries, k) {
                        totals.remove(old)
                        oldTags = EntryRecordCodec.tags(of: old)
                    }
                    if oldTags != r.tags { try tags.remove(oldTags, entryKey: k) }
                    try txn.put(e.entries, k, v)
                    if oldTags != r.tags { try tags.add(r.tags, entryKey: k) }
                    v.withUnsafeBytes { totals.add($0) }
                case .remove(let key):
                    let k = StoreKey.lmdbKey(key)
                    if let old = try txn.get(e.entries, k) {
                        totals.remove(old)
                        let oldTags = EntryRecordCodec.tags(of: old)
                        try txn.delete(e.entries, k)
                        try tags.remove(oldTags, entryKey: k)
                    }
                case .removePrefix(let prefix):
                    let found = try txn.keysAndSizes(e.entries, prefix: Array(prefix.utf8))
                    for f in found {
                        try txn.delete(e.entries, f.key)
                        try tags.remove(f.tags, entryKey: f.key)
                    }
                    totals.remove(count: found.count, bytes: found.reduce(0) { $0 &+ $1.size })
                case .removeAll:
                    try txn.empty(e.entries)
                    try tags.removeAll()
                    totals = StoreTotals()
                case let .softPurge(key, at):
                    let k = StoreKey.lmdbKey(key)
                    // A damaged record is left for readers to report, as touches leave it.
                    guard let old = try txn.get(e.entries, k), var r = try? EntryRecordCodec.decode(old, storedKey: key),
                          r.key == key else { break }
                    totals.remove(old)
                    r.softPurgedAtNanos = at
                    let v = EntryRecordCodec.encode(r)
                    try txn.put(e.entries, k, v)
                    v.withUnsafeBytes { totals.add($0) }
                case let .addCounter(name, delta):
                    let k = Array("counter:\(name)".utf8)
                    let old = try txn.get(e.meta, k).flatMap(Self.decodeU64) ?? 0
                    try txn.put(e.meta, k, Self.encodeU64(old &+ delta))
                case let .setMeta(name, value):
                    try txn.put(e.meta, Array("user:\(name)".utf8), value)
                case .touch:
                    break
                }
            }
            // Touches change neither a record's size nor the number of records.
            for (key, t) in touches {
                let k = StoreKey.lmdbKey(key)
                guard let raw = try txn.get(e.entries, k) else { continue }
                // A damaged record is left for readers to report; touching it would hide that.
                guard EntryRecordCodec.isIntact(raw) else { continue }
                var bytes = Array(raw)
                EntryRecordCodec.applyTouch(&bytes, hits: t.hits, lastAccessNanos: t.last, policyState: t.state, policySequence: t.seq)
                try txn.put(e.entries, k, bytes)
            }
            try finishCommit(txn, e, totals)
        }
    }

    /// Writes `last_commit` and the totals stamped with it: the last writes of
    /// every write transaction. Throws `StoreError.lmdb`.
    private func finishCommit(_ txn: LMDBTransaction, _ e: LMDBEnvironment, _ totals: StoreTotals) throws {
        let now = UInt64(Self.wallNanos())
        try txn.put(e.meta, StoreTotals.lastCommitKey, Self.encodeU64(now))
        try totals.keep(txn, meta: e.meta, stamp: now)
    }

    /// The kept totals, or (a store written before they were kept, or by an
    /// older build since) every record counted once, logged. Throws `StoreError.lmdb`.
    private func currentTotals(_ txn: LMDBTransaction, _ e: LMDBEnvironment) throws -> StoreTotals {
        if let kept = try StoreTotals.kept(txn, meta: e.meta) { return kept }
        let start = ContinuousClock.now
        let counted = try StoreTotals.recount(txn, entries: e.entries)
        log("cache store \(directory): counted \(counted.entries) entries (\(counted.bytes) bytes) in \(start.duration(to: .now)) to keep their totals (a store written before totals were kept, or by an older build)")
        return counted
    }

    /// At the writer's start: a store without valid totals gets them now, once,
    /// rather than at its first commit. A failure is logged; the next commit counts again.
    func keepTotalsFromOpen() {
        withOpenEnvironment { e in
            do {
                if try e.read({ try StoreTotals.kept($0, meta: e.meta) }) != nil { return }
                try e.write { txn in try finishCommit(txn, e, try currentTotals(txn, e)) }
            } catch {
                warn("cache store \(directory): counting the entries' totals failed: \(error); the next commit counts them again")
            }
        }
    }

    /// Runs `body` with the environment held shared (it cannot grow or be
    /// reopened meanwhile); not at all when it is closed.
    func withOpenEnvironment(_ body: (LMDBEnvironment) -> Void) {
        envLock.readLock()
        defer { envLock.unlock() }
        if env.env != nil { body(env) }
    }
}
