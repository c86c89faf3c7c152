import CLMDB

/// Reading the entries whose cache key starts with a prefix without visiting
/// the others. A key of up to 511 bytes is its own LMDB key, so those entries
/// are one contiguous run of keys: the cursor seeks to the prefix
/// (MDB_SET_RANGE) and stops at the first key past it. Longer keys are stored
/// under "#h:" and a hash (`StoreKey`), which keeps no order: the run of "#h:"
/// keys (only the keys over 511 bytes) is read too and filtered on the cache
/// key kept in each record. Cost: the prefix's entries plus the long keys.
extension LMDBTransaction {
    /// Calls `body` with the LMDB key and raw value of each entry whose cache
    /// key starts with `prefix` (every entry when empty) until it returns false;
    /// returns how many records the cursor visited. A hashed record whose key
    /// cannot be read is passed when its LMDB key starts with `prefix` (so a
    /// damaged record is reported where a full scan would report it).
    /// Throws `StoreError.lmdb` or what `body` throws.
    @discardableResult
    func scanPrefix(_ dbi: MDB_dbi, _ prefix: [UInt8],
                    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws -> Int {
        var visited = 0
        if prefix.isEmpty {
            try scan(dbi) { k, v in
                visited += 1
                return try body(k, v)
            }
            return visited
        }
        var more = true
        if prefix.count <= StoreKey.maxDirect {
            try scan(dbi, from: prefix) { k, v in
                visited += 1
                guard k.starts(with: prefix) else { return false }
                // A prefix such as "#" reaches the hashed run: the pass below reads it.
                if StoreKey.isHashed(k) { return true }
                more = try body(k, v)
                return more
            }
        }
        guard more else { return visited }
        try scan(dbi, from: StoreKey.hashedPrefix) { k, v in
            visited += 1
            guard StoreKey.isHashed(k) else { return false }
            let matches = EntryRecordCodec.key(of: v).map { $0.starts(with: prefix) } ?? k.starts(with: prefix)
            return matches ? try body(k, v) : true
        }
        return visited
    }

    /// The LMDB keys, raw sizes and tags of the entries under `prefix` (see
    /// `scanPrefix`), for deleting them and their tags. Throws `StoreError.lmdb`.
    func keysAndSizes(_ dbi: MDB_dbi, prefix: [UInt8]) throws -> [(key: [UInt8], size: Int64, tags: [String])] {
        var out: [(key: [UInt8], size: Int64, tags: [String])] = []
        try scanPrefix(dbi, prefix) { k, v in
            out.append((Array(k), EntryRecordCodec.storedSize(v), EntryRecordCodec.tags(of: v)))
            return true
        }
        return out
    }
}
