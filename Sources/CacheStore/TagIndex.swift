import CLMDB

/// The tag -> entry index: a DUPSORT database "tags" whose keys are tags (a
/// tag over 511 bytes under a hash, as entry keys: `StoreKey`) and whose
/// values are the LMDB keys of the entries carrying them. Kept by the writer
/// in the transaction that puts or removes the records, from the tags in the
/// records themselves, so the index and the entries never disagree, also
/// after kill -9. Reads check each indexed entry still carries the tag (an
/// older build writing the store does not keep the index).
struct TagIndex {
    let dbi: MDB_dbi?
    let txn: LMDBTransaction

    /// Indexes `tags` for the entry stored under `entryKey`. Throws `StoreError.lmdb`.
    func add(_ tags: [String], entryKey: [UInt8]) throws {
        guard let dbi else { return }
        for t in Set(tags) where !t.isEmpty { try txn.putDuplicate(dbi, StoreKey.lmdbKey(t), entryKey) }
    }

    /// Drops `tags` of the entry under `entryKey`. Throws `StoreError.lmdb`.
    func remove(_ tags: [String], entryKey: [UInt8]) throws {
        guard let dbi else { return }
        for t in Set(tags) where !t.isEmpty { try txn.deleteDuplicate(dbi, StoreKey.lmdbKey(t), entryKey) }
    }

    /// Empties the index (every entry removed). Throws `StoreError.lmdb`.
    func removeAll() throws {
        guard let dbi else { return }
        try txn.empty(dbi)
    }

    /// The cache keys of the entries carrying `tag`, read through `entries`.
    /// Throws `StoreError.lmdb`.
    func keys(taggedWith tag: String, entries: MDB_dbi) throws -> [String] {
        guard let dbi, !tag.isEmpty else { return [] }
        let tagKey = StoreKey.lmdbKey(tag), tagBytes = Array(tag.utf8)
        var out: [String] = []
        try txn.scan(dbi, from: tagKey) { k, v in
            guard k.elementsEqual(tagKey) else { return false }
            guard let record = try txn.get(entries, Array(v)),
                  EntryRecordCodec.carries(record, tag: tagBytes) else { return true }
            // The record keeps its key only when the LMDB key is a hash of it (`StoreKey`).
            out.append(String(decoding: EntryRecordCodec.key(of: record) ?? v, as: UTF8.self))
            return true
        }
        return out
    }

    /// Number of tag/entry pairs (for `cachedump verify`). Throws `StoreError.lmdb`.
    func pairCount() throws -> Int {
        guard let dbi else { return 0 }
        return try txn.count(dbi)
    }
}

extension CacheStore {
    /// The keys of the entries carrying any of `tags`, each once, in one read
    /// transaction: a seek per tag, then one read per entry (no scan of the
    /// store). Throws `StoreError.lmdb`.
    public func keys(taggedWith tags: [String]) throws -> [String] {
        guard env.hasDatabases else { return [] }
        return try reading { txn, e in
            let index = TagIndex(dbi: e.tags, txn: txn)
            var seen = Set<String>()
            var out: [String] = []
            for t in tags {
                for k in try index.keys(taggedWith: t, entries: e.entries) where seen.insert(k).inserted { out.append(k) }
            }
            return out
        }
    }

    /// The tag index's pairs and the tags the records carry, counted in one
    /// read transaction: equal when they agree (`cachedump verify`). O(N).
    /// Throws `StoreError.lmdb`.
    public func tagPairsIndexedAndCarried() throws -> (indexed: Int, carried: Int) {
        guard env.hasDatabases else { return (0, 0) }
        return try reading { txn, e in
            var carried = 0
            try txn.scan(e.entries) { _, v in
                carried += Set(EntryRecordCodec.tags(of: v).filter { !$0.isEmpty }).count
                return true
            }
            return (try TagIndex(dbi: e.tags, txn: txn).pairCount(), carried)
        }
    }
}
