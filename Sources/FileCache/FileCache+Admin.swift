/// How `entries(prefix:sort:limit:cursor:)` orders its listing.
public enum CacheEntrySort: String, Sendable, CaseIterable {
    /// By key; the cursor is the last key of the previous page.
    case key
    /// Most hits first; the cursor is an offset.
    case hits
    /// Largest first; the cursor is an offset.
    case size
}

/// One page of a listing and the cursor for the next (nil at the end).
public struct CacheEntryPage: Sendable, Equatable {
    public var entries: [CacheEntryInfo]
    public var nextCursor: String?
}

/// The API the admin plugin uses: counters, purges and listings.
extension FileCache {
    /// Counters summed over workers, with occupancy and capacity.
    public func stats() -> FileCacheStats {
        var s = FileCacheStats()
        counters.sum(into: &s)
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
            shard.state.withLock { s in
                for e in Array(s.entries.values) where e.key.hasPrefix(prefix) && s.remove(e) { keys.append(e.key) }
            }
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

    /// The `n` entries with the most hits.
    public func topEntries(_ n: Int) -> [CacheEntryInfo] {
        Array(allInfos().sorted { ($0.hits, $1.key) > ($1.hits, $0.key) }.prefix(max(0, n)))
    }

    /// A page of entries whose key starts with `prefix` (nil: all), in `sort`
    /// order, at most `limit` (clamped to 1...10_000), after `cursor`.
    public func entries(prefix: String?, sort: CacheEntrySort, limit: Int, cursor: String?) -> CacheEntryPage {
        let limit = min(max(limit, 1), 10_000)
        var infos = allInfos()
        if let prefix { infos.removeAll { !$0.key.hasPrefix(prefix) } }
        switch sort {
        case .key:
            infos.sort { $0.key < $1.key }
            if let cursor { infos.removeAll { $0.key <= cursor } }
            let page = Array(infos.prefix(limit))
            return CacheEntryPage(entries: page, nextCursor: infos.count > limit ? page.last?.key : nil)
        case .hits, .size:
            if sort == .hits {
                infos.sort { ($0.hits, $1.key) > ($1.hits, $0.key) }
            } else {
                infos.sort { ($0.size, $1.key) > ($1.size, $0.key) }
            }
            let start = min(max(cursor.flatMap { Int($0) } ?? 0, 0), infos.count)
            let end = min(start + limit, infos.count)
            return CacheEntryPage(entries: Array(infos[start..<end]), nextCursor: end < infos.count ? String(end) : nil)
        }
    }

    private func allInfos() -> [CacheEntryInfo] {
        var out: [CacheEntryInfo] = []
        for shard in shards { shard.state.withLock { s in out.append(contentsOf: s.entries.values.map(\.info)) } }
        return out
    }
}
