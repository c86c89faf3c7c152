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
            guard let e = s.entries[h], e.hasKey(key), s.remove(e, hash: h) else { return nil }
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
            var matches: [(hash: UInt64, entry: CacheEntry)] = []
            do {
                let snapshot = shard.state.withLock { $0.entries }
                for (h, e) in snapshot where e.keyStarts(with: prefix) { matches.append((h, e)) }
            }
            for start in stride(from: 0, to: matches.count, by: 256) {
                shard.state.withLock { s in
                    for m in matches[start..<min(start + 256, matches.count)] where s.remove(m.entry, hash: m.hash) { keys.append(m.entry.key) }
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
                for (h, e) in Array(s.entries) where s.remove(e, hash: h) { n += 1 }
            }
        }
        persistence?.enqueue(.removeAll)
        return n
    }

    /// Removes the least recently used `fraction` of the entries (at least one):
    /// the store's map is full and cannot grow. Returns how many were removed.
    @discardableResult
    public func shed(fraction: Double) -> Int {
        let (all, _) = rankedEntries(prefix: nil, sort: .recent, first: Int.max)
        let n = max(1, Int(Double(all.count) * min(max(fraction, 0), 1)))
        var removed = 0
        for ranked in all.suffix(n) where purge(key: ranked.entry.key) != nil { removed += 1 }
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
    /// how many matched in all. Shard locks are held only to copy entry
    /// references (a hit never waits on the ranking), and only the page's
    /// `offset + limit` first entries are ranked in order (`RankedSelection`).
    public func entries(prefix: String?, sort: CacheEntrySort, limit: Int, offset: Int) -> (rows: [CacheEntryInfo], total: Int) {
        let skip = max(offset, 0)
        let take = min(max(limit, 0), 10_000)
        let (wanted, overflow) = skip.addingReportingOverflow(take)
        let (ranked, total) = rankedEntries(prefix: prefix, sort: sort, first: overflow ? Int.max : wanted)
        return (ranked.dropFirst(skip).map(\.entry.info), total)
    }

    /// The first `count` entries matching `prefix` in `sort` order (ties by
    /// key), and how many matched in all.
    private func rankedEntries(prefix: String?, sort: CacheEntrySort, first count: Int) -> (ranked: [RankedEntry], total: Int) {
        var candidates: [CacheEntry] = []
        for shard in shards { shard.state.withLock { s in candidates.append(contentsOf: s.entries.values) } }
        if let prefix { candidates.removeAll { !$0.key.hasPrefix(prefix) } }
        // The sort value is read once per entry: hits and access times change
        // under concurrent hits, and a ranking needs a consistent order.
        let ranked = candidates.map { RankedEntry(entry: $0, value: $0.rankValue(for: sort)) }
        return (RankedSelection.first(count, of: ranked, by: RankedEntry.precedes), ranked.count)
    }
}

/// An entry with the value it is ranked by: larger first, then key ascending.
private struct RankedEntry {
    let entry: CacheEntry
    let value: Int64

    static func precedes(_ a: RankedEntry, _ b: RankedEntry) -> Bool {
        a.value != b.value ? a.value > b.value : a.entry.key < b.entry.key
    }
}

private extension CacheEntry {
    /// The value `sort` ranks by, larger first (so oldest-first is the negated admission time).
    func rankValue(for sort: CacheEntrySort) -> Int64 {
        switch sort {
        case .hits: return Int64(clamping: accessCount.load(ordering: .relaxed))
        case .size: return Int64(clamping: identity.size)
        case .age: return 0 &- insertedAtNanos
        case .recent: return lastAccessNanos.load(ordering: .relaxed)
        case .key: return 0
        }
    }
}
