/// The body store's tag -> store keys map, kept in memory beside its table and
/// under the same lock, so a purge by tag finds its keys at once: no read of
/// the LMDB tag index, and above all no wait for the index writer to commit
/// what is queued (behind a large purge that commit took 1-2.7 s on the loaded
/// machine). The tags stay persisted in the index with each entry (restarts,
/// kill -9, `cachedump purge --tag`); this map is rebuilt from them at load.
struct TagMap {
    private var keysByTag: [String: Set<String>] = [:]

    /// Indexes `entry`'s tags.
    mutating func add(_ entry: ProxyIndexEntry) {
        for t in entry.tags where !t.isEmpty { keysByTag[t, default: []].insert(entry.key) }
    }

    /// Drops `entry`'s tags.
    mutating func remove(_ entry: ProxyIndexEntry) {
        for t in entry.tags where !t.isEmpty {
            if keysByTag[t]?.remove(entry.key) != nil, keysByTag[t]?.isEmpty == true { keysByTag.removeValue(forKey: t) }
        }
    }

    /// The key sets of `tags` (copies that share storage until either changes:
    /// O(1) under the lock; the caller lets them go before changing the map, or
    /// its first change would copy a whole set).
    func sets(for tags: [String]) -> [Set<String>] { tags.compactMap { keysByTag[$0] } }

    /// The keys in any of `sets`, each once.
    static func union(_ sets: [Set<String>]) -> [String] {
        if sets.count == 1 { return Array(sets[0]) }
        var seen = Set<String>()
        return sets.flatMap { $0 }.filter { seen.insert($0).inserted }
    }

    /// Tag/key pairs held.
    var pairCount: Int { keysByTag.values.reduce(0) { $0 + $1.count } }
}
