import CacheStore
import CachePolicies
import CapuchinSystem

/// What loading the persistent index found.
public struct CacheLoadReport: Sendable, Equatable {
    /// Entries resident after the load.
    public var loaded = 0
    /// Files changed, replaced or deleted since they were admitted.
    public var stale = 0
    /// Entries the current rules, TTL or capacity no longer allow, or damaged records.
    public var dropped = 0
    /// Entries mapped at start (`warm_eager_entries`).
    public var mappedEagerly = 0
}

extension FileCache {
    /// The blob name under which shard `i`'s policy keeps its global state.
    static func policyBlobName(shard: Int, of count: Int) -> String { "cache.policy.\(count).\(shard)" }

    /// Loads the persistent index: every file entry is checked with stat, stale
    /// and no-longer-allowed ones are removed from the store, the policies get
    /// their per-entry and global state back, and the hottest
    /// `warm_eager_entries` are mapped (the rest on first hit).
    /// Call once, before serving. Throws the store's read error.
    @discardableResult
    public func load() throws -> CacheLoadReport {
        guard let persistence else { return CacheLoadReport() }
        let started = Clock.monotonicNanos()
        let cpuStarted = Clock.threadCPUSeconds()
        var report = CacheLoadReport()
        try totals.load(from: persistence)
        let now = Clock.monotonicNanos()
        let wallNow = Clock.wallNanos()
        // The hash goes with each entry (entries do not keep it: CacheEntry.hash).
        var perShard = [[(hash: UInt64, entry: CacheEntry, state: PolicyEntryState)]](repeating: [], count: shards.count)
        var seen = Set<UInt64>()
        // Sized once from the store's kept totals (growing it cost ~3% of a load).
        if let n = try? (persistence as? StorePersistence)?.store.keptTotals()?.entries { seen.reserveCapacity(n) }
        // Each record is checked as it is read: a million decoded records held
        // at once cost hundreds of megabytes the allocator keeps afterwards.
        func take(_ r: EntryRecord) {
            guard r.kind == .file else { return }
            guard let (site, path) = CacheKey.split(r.key), r.size >= 0 else {
                report.dropped += 1
                persistence.enqueue(.remove(key: r.key))
                return
            }
            let entry: CacheEntry
            switch check(r, site: site, path: path, now: now, wallNow: wallNow, stat: false) {
            case .usable(let e): entry = e
            case .notAllowed:
                report.dropped += 1
                persistence.enqueue(.remove(key: r.key))
                return
            case .stale:
                report.stale += 1
                persistence.enqueue(.remove(key: r.key))
                return
            }
            let h = CacheKey.hash(site: site, path: path)
            guard seen.insert(h).inserted else {
                report.dropped += 1
                persistence.enqueue(.remove(key: r.key))
                return
            }
            perShard[Int(h & UInt64(shards.count - 1))].append(
                (h, entry, PolicyEntryState(word: r.policyState, sequence: r.policySequence)))
        }
        if let undecodable = try forEachStoredRecord(persistence, take) {
            report.dropped += undecodable
        } else {
            // The store had damaged pages and was moved aside: start empty.
            perShard = perShard.map { _ in [] }
            report = CacheLoadReport()
        }
        seen = []
        let checked = Clock.monotonicNanos()
        var resident: [(hash: UInt64, entry: CacheEntry)] = []
        for (i, list) in perShard.enumerated() {
            let blob = try persistence.loadBlob(Self.policyBlobName(shard: i, of: shards.count))
            let kept: [(hash: UInt64, entry: CacheEntry)] = shards[i].state.withLock { s in
                let refused = Set(s.policy.restore(list.map { (key: $0.hash, size: config.charge(forSize: $0.entry.identity.size), state: $0.state) }))
                if let blob { s.policy.importGlobalState(blob) }
                var kept: [(hash: UInt64, entry: CacheEntry)] = []
                kept.reserveCapacity(list.count)
                s.entries.reserveCapacity(list.count)
                for (h, e, _) in list where !refused.contains(h) && s.policy.contains(h) {
                    s.entries[h] = e
                    s.bytes += e.identity.size
                    kept.append((h, e))
                }
                return kept
            }
            if kept.count < list.count {
                let keptKeys = Set(kept.map(\.hash))
                for (h, e, _) in list where !keptKeys.contains(h) {
                    report.dropped += 1
                    persistence.enqueue(.remove(key: e.key))
                }
            }
            perShard[i] = []
            resident.append(contentsOf: kept)
        }
        // The index is whole: lookups use it from here on, admissions resume.
        warming.store(false, ordering: .releasing)
        let indexed = Clock.monotonicNanos()
        log("cache: loaded \(resident.count) entries into the index in \((indexed - started) / 1_000_000) ms "
            + "(read \((checked - started) / 1_000_000) ms; \(Int((Clock.threadCPUSeconds() - cpuStarted) * 1000)) ms of CPU); "
            + "checking their files")
        // Second pass, while serving: a stat per entry (the first hit of an entry
        // not yet checked stats it too, as its check time is 0).
        var current: [CacheEntry] = []
        current.reserveCapacity(resident.count)
        for (h, e) in resident {
            if e.identity.isCurrent(at: e.originPath) { current.append(e); continue }
            if shard(for: h).state.withLock({ $0.remove(e, hash: h) }) {
                report.stale += 1
                persistence.enqueue(.remove(key: e.key))
            }
        }
        resident = []
        report.loaded = current.count
        for e in Self.hottest(current, count: config.warmEagerEntries) where mapLazily(e) != nil { report.mappedEagerly += 1 }
        let done = Clock.monotonicNanos()
        log("cache: checked \(report.loaded) entries (\(report.stale) stale, \(report.dropped) dropped, \(report.mappedEagerly) mapped) "
            + "in \((done - indexed) / 1_000_000) ms; \((done - started) / 1_000_000) ms since the load began")
        return report
    }

    /// The `count` entries with the most hits, most first: one pass with a
    /// bounded list instead of sorting a million entries.
    static func hottest(_ entries: [CacheEntry], count: Int) -> [CacheEntry] {
        guard count > 0 else { return [] }
        if entries.count <= count {
            return entries.sorted { $0.accessCount.load(ordering: .relaxed) > $1.accessCount.load(ordering: .relaxed) }
        }
        var best = [(hits: UInt64, entry: CacheEntry)]()
        best.reserveCapacity(count + 1)
        for e in entries {
            let h = e.accessCount.load(ordering: .relaxed)
            if best.count == count, let last = best.last, h <= last.hits { continue }
            // Binary search for the first position with fewer hits (stable: ties keep their order).
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if best[mid].hits >= h { lo = mid + 1 } else { hi = mid }
            }
            best.insert((h, e), at: lo)
            if best.count > count { best.removeLast() }
        }
        return best.map(\.entry)
    }

    /// Calls `body` with every stored record and returns how many could not
    /// be decoded (one bad record must not stop the server); nil when the
    /// store had damaged pages: it is moved aside (logged by the store) and
    /// the cache starts empty. Throws other read errors.
    private func forEachStoredRecord(_ persistence: CachePersistence, _ body: (EntryRecord) -> Void) throws -> Int? {
        guard let store = (persistence as? StorePersistence)?.store else {
            for r in try persistence.entries(prefix: nil) { body(r) }
            return 0
        }
        var undecodable = 0
        do {
            try store.forEachEntry(kind: .file) { result in
                if case .success(let r) = result { body(r) } else { undecodable += 1 }
                return true
            }
        } catch let e as StoreError where e.isDamage {
            try store.replaceDamaged(because: e)
            return nil
        }
        return undecodable
    }

    /// What a stored record is worth now.
    enum RecordCheck {
        case usable(CacheEntry)
        /// The rules, the TTL or the record's fields no longer allow it.
        case notAllowed
        /// The file changed, was replaced or deleted since its admission.
        case stale
    }

    /// Checks a stored record as loading does: rules, TTL, headers, then stat.
    /// `stat` false: the file is not looked at (the load's second pass and
    /// the entry's first hit do), and the entry counts as never checked.
    func check(_ r: EntryRecord, site: String, path: String, now: UInt64, wallNow: Int64, stat: Bool = true) -> RecordCheck {
        guard rules.check(path: path, filePath: r.originPath, size: Int(r.size), contentType: r.contentType) == nil,
              ttlAllows(insertedAt: r.insertedAtNanos, now: wallNow),
              EntryHeaders.isSafe(r.contentType), EntryHeaders.isSafe(r.etag) else { return .notAllowed }
        let identity = FileIdentity(device: r.device, inode: r.inode, size: Int(r.size), mtimeNanos: r.mtimeNanos,
                                    isRegular: true, isDirectory: false)
        if stat && !identity.isCurrent(at: r.originPath) { return .stale }
        return .usable(CacheEntry(key: r.key, originPath: r.originPath, identity: identity, marksHits: config.xCacheHeader,
                                  contentType: r.contentType, mapping: nil, insertedAtNanos: r.insertedAtNanos,
                                  accessCount: r.accessCount, checkedAtNanos: stat ? now : 0, lastAccessNanos: r.lastAccessNanos))
    }

    private func ttlAllows(insertedAt: Int64, now: Int64) -> Bool {
        config.ttl <= 0 || Double(now - insertedAt) <= config.ttl * 1e9
    }

    /// Sends every entry's unsent hits and current policy state, and each
    /// policy's global state, to the store, then flushes it (SIGTERM, last
    /// worker stopping). Throws the store's commit error.
    public func persistState() throws {
        guard let persistence else { return }
        for (i, shard) in shards.enumerated() {
            let (ops, blob): ([StoreOperation], [UInt8]) = shard.state.withLock { s in
                var ops: [StoreOperation] = []
                ops.reserveCapacity(s.entries.count)
                for (h, e) in s.entries {
                    let st = s.policy.state(of: h) ?? PolicyEntryState(word: 0, sequence: 0)
                    ops.append(.touch(key: e.key, hits: UInt64(e.pendingHits.exchange(0, ordering: .relaxed)),
                                      lastAccessNanos: e.lastAccessNanos.load(ordering: .relaxed), policyState: st.word, policySequence: st.sequence))
                }
                return (ops, s.policy.exportGlobalState())
            }
            for op in ops { persistence.enqueue(op) }
            persistence.saveBlob(Self.policyBlobName(shard: i, of: shards.count), blob)
        }
        sendCounters(now: Clock.monotonicNanos())
        try persistence.flush()
    }
}
