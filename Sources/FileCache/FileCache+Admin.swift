import CacheStore
import CapuchinSystem
/// How `entries(prefix:sort:limit:offset:)` orders its listing (as the admin API's `sort`).
public enum CacheEntrySort: String, Sendable, CaseIterable {
    /// Most hits first.
    case hits
    /// Largest first.
    case size
    /// Oldest admission first.
    case age
    /// Most recently used first.
    case recent
    /// By key, ascending.
    case key
}

/// The API the admin plugin uses: counters, purges and listings.
extension FileCache {
    /// Counters summed over workers, plus the totals of earlier runs kept in
    /// the store (so they count since the store was created), with occupancy and capacity.
    public func stats() -> FileCacheStats {
        var s = FileCacheStats()
        counters.sum(into: &s)
        totals.addBase(to: &s)
        for shard in shards {
            shard.state.withLock { st in
                s.entries += st.entries.count
                s.bytes += st.bytes
            }
        }
        s.capacityBytes = config.capacityBytes
        s.capacityEntries = config.capacityEntries
        return s
    }

    /// What the small bodies' slabs hold: pages mapped, slots in use, and the
    /// bytes lost to size classes and partly used pages.
    public var slabStatistics: SlabStatistics { slabs.statistics() }

    /// Removes one key ("site/path"); returns the removed entry, nil when absent.
    @discardableResult
    public func purge(key: String) -> CacheEntryInfo? {
        guard let h = hash(of: key) else { return nil }
        let removed: CacheEntry? = shard(for: h).state.withLock { s in
            guard let e = s.entries[h], e.key == key, s.remove(e) else { return nil }
            return e
        }
        guard let e = removed else { return nil }
        persistence?.enqueue(.remove(key: key))
        return e.info
    }

    /// Removes every key starting with `prefix`; returns the removed keys, sorted.
    @discardableResult
    public func purge(prefix: String) -> [String] {
        var keys: [String] = []
        for shard in shards {
            // Scanned outside the lock: taking a copy-on-write snapshot of the index
            // is O(1), and the matches are removed in batches, so a hit on this shard
            // waits for one batch at most, not for a scan of a million keys (a
            // mutation while the snapshot lives copies the shard's table once).
            var matches: [CacheEntry] = []
            do {
                let snapshot = shard.state.withLock { $0.entries }
                for e in snapshot.values where e.key.utf8.starts(with: prefix.utf8) { matches.append(e) }
            }
            for start in stride(from: 0, to: matches.count, by: 256) {
                shard.state.withLock { s in
                    for e in matches[start..<min(start + 256, matches.count)] where s.remove(e) { keys.append(e.key) }
                }
            }
            // The removed entries' slots are freed here, after the locks.
        }
        persistence?.enqueue(.removePrefix(prefix))
        return keys.sorted()
    }

    /// Empties the cache and the store's index; returns how many entries were removed.
    @discardableResult
    public func clear() -> Int {
        var n = 0
        for shard in shards {
            shard.state.withLock { s in
                for e in Array(s.entries.values) where s.remove(e) { n += 1 }
            }
        }
        persistence?.enqueue(.removeAll)
        return n
    }

    /// Removes the least recently used `fraction` of the entries (at least one):
    /// the store's map is full and cannot grow. Returns how many were removed.
    @discardableResult
    public func shed(fraction: Double) -> Int {
        let all = sortedInfos(prefix: nil, sort: .recent)
        let n = max(1, Int(Double(all.count) * min(max(fraction, 0), 1)))
        var removed = 0
        for info in all.suffix(n) where purge(key: info.key) != nil { removed += 1 }
        counters[0].evictions.wrappingAdd(UInt64(removed), ordering: .relaxed)
        log("cache: the store is full; dropped the \(removed) least recently used entries")
        return removed
    }

    /// The `n` entries with the most hits.
    public func topEntries(_ n: Int) -> [CacheEntryInfo] {
        entries(prefix: nil, sort: .hits, limit: n, offset: 0).rows
    }

    /// Entries whose key starts with `prefix` (nil: all) in `sort` order (ties
    /// by key), skipping `offset`, at most `limit` (clamped to 0...10_000), and
    /// how many matched in all.
    public func entries(prefix: String?, sort: CacheEntrySort, limit: Int, offset: Int) -> (rows: [CacheEntryInfo], total: Int) {
        let infos = sortedInfos(prefix: prefix, sort: sort)
        let start = min(max(offset, 0), infos.count)
        let end = min(start + min(max(limit, 0), 10_000), infos.count)
        return (Array(infos[start..<end]), infos.count)
    }

    private func sortedInfos(prefix: String?, sort: CacheEntrySort) -> [CacheEntryInfo] {
        var infos = allInfos()
        if let prefix { infos.removeAll { !$0.key.hasPrefix(prefix) } }
        switch sort {
        case .hits: infos.sort { ($0.hits, $1.key) > ($1.hits, $0.key) }
        case .size: infos.sort { ($0.size, $1.key) > ($1.size, $0.key) }
        case .age: infos.sort { ($0.insertedAtNanos, $0.key) < ($1.insertedAtNanos, $1.key) }
        case .recent: infos.sort { ($0.lastAccessNanos, $1.key) > ($1.lastAccessNanos, $0.key) }
        case .key: infos.sort { $0.key < $1.key }
        }
        return infos
    }

    private func allInfos() -> [CacheEntryInfo] {
        var out: [CacheEntryInfo] = []
        for shard in shards { shard.state.withLock { s in out.append(contentsOf: s.entries.values.map(\.info)) } }
        return out
    }
}
