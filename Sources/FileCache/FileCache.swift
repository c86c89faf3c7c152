import CacheStore
import CachePolicies
import CapuchinServer
import CapuchinSystem
import Synchronization

/// What happened to a file offered for admission.
public enum AdmitOutcome: Equatable, Sendable {
    case admitted
    /// A rule of the `cache` section refuses it (counted as a rejection by rule).
    case rejected(RuleRejection)
    /// The policy declined it (or evicted it at once); a later miss may admit it.
    case notAdmitted
    /// The same version is resident already (another worker admitted it).
    case alreadyCached
    /// Another key with the same 64-bit hash is resident; it stays.
    case collision
    /// mmap failed (logged).
    case failed
}

/// The file cache shared by every worker: a sharded hash index of mapped
/// files with their prebuilt headers, an eviction policy per shard and the
/// persistent index behind it. Thread-safe; a hit takes one shard lock once.
public final class FileCache: @unchecked Sendable { // safe: lets only, state under shard locks and atomics; `log` and `persistence` are not declared Sendable but are thread-safe (ErrorLog, CacheStore)
    public let config: FileCacheConfig
    let rules: FileCacheAdmissionRules
    let shards: [CacheShard]
    /// `shards` for the hit path, reached without a retain.
    private let shardReferences: UnretainedReferences<CacheShard>
    private let shardMask: UInt64
    let counters: CounterTable
    /// Heads of recently hit entries, a table per worker.
    let recentHeads: RecentHeads
    public let persistence: CachePersistence?
    let log: (String) -> Void
    private let revalidateNanos: UInt64
    private let ttlNanos: Int64
    /// At most one touch per entry per commit interval goes to the store (`CacheEntry.touchTicks` units).
    private let touchTicks: UInt32
    /// Wall clock minus the coarse monotonic clock: a hit's wall time without a second clock read.
    private let wallOffsetNanos: Int64
    let totals = PersistentCounters(fields: FileCacheStats.persisted, zero: FileCacheStats())
    /// True while `startLoading`'s thread runs.
    let warming = Atomic<Bool>(false)
    let loading = BackgroundJob()
    private let mapFailureLog = RateLimit(intervalNanos: 1_000_000_000)
    /// The copies of small files (up to `snapshotLimit`), packed by size class.
    let slabs = SlabAllocator(largest: FileCache.snapshotLimit)
    /// Larger files are mapped only while the process holds fewer mappings
    /// (`MappedFile.fileMappings`) than this: past `vm.max_map_count` every mmap
    /// of the process would fail, thread stacks and the store's included.
    let mappingLimit: Int

    /// - Parameters:
    ///   - shardCount: a power of two; nil picks up to 32 (fewer for small capacities, see below).
    ///   - workers: counter slots (one per worker id).
    ///   - policyFactory: makes one shard's policy for a capacity in bytes.
    ///   - mappingLimit: see `mappingLimit` (the factory passes what `vm.max_map_count` leaves).
    public init(config: FileCacheConfig, persistence: CachePersistence?, shardCount: Int? = nil, workers: Int = 64,
                mappingLimit: Int = .max, policyFactory: (Int) -> any EvictionPolicy, log: @escaping (String) -> Void = { _ in }) {
        self.config = config
        self.mappingLimit = mappingLimit
        rules = FileCacheAdmissionRules(config)
        var n = shardCount ?? 32
        if shardCount == nil {
            // Each shard's policy gets capacity/n: keep >= 64 entries per shard, and
            // the largest admissible file <= 2% of a shard (policies such as
            // W-TinyLFU refuse larger entries outright).
            while n > 1 && (config.capacityEntries / n < 64 || config.capacityBytes / n < 50 * config.maxFileSize) { n /= 2 }
        }
        precondition(n > 0 && n & (n - 1) == 0, "shard count must be a power of two")
        let perShard = max(1, config.capacityBytes / n)
        shards = (0..<n).map { _ in CacheShard(policy: policyFactory(perShard)) }
        shardReferences = UnretainedReferences(shards)
        shardMask = UInt64(n - 1)
        counters = CounterTable(workers: workers)
        recentHeads = RecentHeads(workers: workers)
        self.persistence = persistence
        self.log = log
        revalidateNanos = UInt64(config.revalidateInterval * 1e9)
        ttlNanos = Int64(config.ttl * 1e9)
        touchTicks = CacheEntry.touchTicks(UInt64(max(1, config.commitIntervalMs)) * 1_000_000 + (1 << 20) - 1)
        wallOffsetNanos = Clock.wallNanos() - Int64(bitPattern: Clock.monotonicNanos())
    }

    @inline(__always)
    func shard(for hash: UInt64) -> CacheShard { shards[Int(hash & shardMask)] }

    /// Policy key and shard of a key string.
    func hash(of key: String) -> UInt64? {
        guard let (site, path) = CacheKey.split(key) else { return nil }
        return CacheKey.hash(site: site, path: path)
    }

    // MARK: hit path

    /// The fresh, mapped entry for `site` + `path`, or nil (a miss). A resident
    /// entry whose file changed, vanished or outlived `ttl` is dropped here.
    /// `receivedBy`: a precise monotonic time by which the request was received
    /// (the worker's loop iteration start; `.max`: now). With `revalidate_interval` 0 the file is
    /// stat'ed unless a check began after that time: a change completed before
    /// the request arrived is always seen, and a hot file is stat'ed once per
    /// batch of requests instead of once per request (the stat and its path walk
    /// were 12% of a 1 KiB hit's CPU time).
    func lookup(site: String, path: String, worker: Int, receivedBy: UInt64 = .max) -> CacheEntry? {
        let h = CacheKey.hash(site: site, path: path)
        // The shard and the worker's counters are borrowed, not retained (see UnretainedReferences).
        return shardReferences.with(Int(h & shardMask)) { shard in
            counters.with(worker: worker) { c in
                lookup(h, site: site, path: path, worker: worker, receivedBy: receivedBy, shard: shard, counters: c)
            }
        }
    }

    @inline(__always)
    private func lookup(_ h: UInt64, site: String, path: String, worker: Int, receivedBy: UInt64, shard: CacheShard,
                        counters c: FileCacheWorkerCounters) -> CacheEntry? {
        let now = Clock.monotonicNanos()
        var touchState: PolicyEntryState?
        let found: CacheEntry? = shard.state.withLock { s in
            guard let e = s.entries[h], e.matches(site: site, path: path) else { return nil }
            shard.policy.recordHit(h)
            e.pendingHits.wrappingAdd(1, ordering: .relaxed)
            e.accessCount.wrappingAdd(1, ordering: .relaxed)
            e.lastAccessNanos.store(Int64(bitPattern: now) &+ wallOffsetNanos, ordering: .relaxed)
            let ticks = CacheEntry.touchTicks(now)
            if ticks &- e.touchedAtTicks.load(ordering: .relaxed) >= touchTicks {
                e.touchedAtTicks.store(ticks, ordering: .relaxed)
                touchState = shard.policy.state(of: h)
            }
            return e
        }
        // Moved, not copied: a copy of the entry was retained once more for the uses below.
        guard let entry = consume found else {
            if warming.load(ordering: .acquiring), let e = warmingLookup(site: site, path: path) {
                c.hits.wrappingAdd(1, ordering: .relaxed)
                return e
            }
            c.misses.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        if ttlNanos > 0 && Clock.wallNanos() - entry.insertedAtNanos > ttlNanos {
            drop(entry, worker: worker)
            return nil
        }
        let checkedAt = entry.checkedAtNanos.load(ordering: .relaxed)
        // 0: never checked (loaded without a stat), due at once: the monotonic clock
        // counts from boot, so within `revalidate_interval` of it `now >= 0 + interval` was false.
        if revalidateNanos == 0 ? checkedAt < receivedBy : checkedAt == 0 || now >= checkedAt &+ revalidateNanos {
            // Precise without an interval: checks are ordered against arrivals, finer than a tick.
            let checkStart = revalidateNanos == 0 ? Clock.preciseMonotonicNanos() : now
            c.revalidations.wrappingAdd(1, ordering: .relaxed)
            guard entry.isCurrentOnDisk else {
                drop(entry, worker: worker)
                return nil
            }
            // Read before the stat: the check saw the file as of then or later.
            entry.checkedAtNanos.store(checkStart, ordering: .relaxed)
        }
        guard entry.isMapped else {
            guard let mapped = mapLazily(entry) else {
                drop(entry, worker: worker)
                return nil
            }
            return counted(hit: mapped, touchState: touchState, counters: c, now: now)
        }
        return counted(hit: entry, touchState: touchState, counters: c, now: now)
    }

    /// A hit's bookkeeping once its entry is current and mapped: the store's
    /// touch (when due), the worker's hit count, the counters' periodic send.
    @inline(__always)
    private func counted(hit entry: CacheEntry, touchState: PolicyEntryState?, counters c: FileCacheWorkerCounters,
                         now: UInt64) -> CacheEntry {
        if let st = touchState, let p = persistence {
            p.enqueue(.touch(key: entry.key, hits: UInt64(entry.pendingHits.exchange(0, ordering: .relaxed)),
                             lastAccessNanos: entry.lastAccessNanos.load(ordering: .relaxed), policyState: st.word, policySequence: st.sequence))
        }
        c.hits.wrappingAdd(1, ordering: .relaxed)
        if totals.due(now: now) { sendCounters(now: now) }
        return entry
    }

    /// Sends this run's counter deltas to the store.
    func sendCounters(now: UInt64) {
        guard let persistence else { return }
        var s = FileCacheStats()
        counters.sum(into: &s)
        totals.send(s, to: persistence, now: now)
    }

    /// Counts body bytes answered from the cache.
    func countServed(bytes: Int, worker: Int) {
        counters[worker].bytesServed.wrappingAdd(UInt64(bytes), ordering: .relaxed)
    }

    /// Removes a stale entry (if still resident) and forgets it in the store.
    private func drop(_ entry: CacheEntry, worker: Int) {
        let h = entry.hash
        let removed = shard(for: h).state.withLock { $0.remove(entry, hash: h) }
        let c = counters[worker]
        c.misses.wrappingAdd(1, ordering: .relaxed)
        if removed {
            c.staleDrops.wrappingAdd(1, ordering: .relaxed)
            persistence?.enqueue(.remove(key: entry.key))
        }
    }

    /// Opens and maps an entry loaded from the store, if its file is still the
    /// version recorded (so it is the file the static handler opened safely).
    func mapLazily(_ entry: CacheEntry, insert: Bool = true) -> CacheEntry? {
        guard let file = try? OpenFile(path: entry.originPath), let id = try? file.identity(),
              id.isRegular, id.sameVersion(as: entry.identity),
              let mapping = try? body(of: file, identity: id, path: entry.originPath) else { return nil }
        let mapped = entry.withMapping(mapping)
        if !insert { return mapped }
        let h = entry.hash
        shard(for: h).state.withLock { s in
            if let e = s.entries[h], e === entry { s.entries[h] = mapped }
        }
        return mapped
    }

    // MARK: admission

    /// Files up to this size are held as a private copy (a snapshot) in a slab
    /// slot, larger ones as a mapping of the file.
    public static let snapshotLimit = 64 << 10

    /// The body of a file to cache. Small ones are copied into a slab slot (no
    /// mapping of their own: `vm.max_map_count` bounds only the large ones), and
    /// the copy is kept only if the file's version did not change while it was
    /// read. Throws `SystemError` (mmap, pread, fstat), `ConditionFailure` when the file changed meanwhile.
    func body(of file: OpenFile, identity: FileIdentity, path: String) throws -> MappedFile {
        try Self.body(of: file, identity: identity, path: path, slabs: slabs, mappingLimit: mappingLimit)
    }

    /// `body(of:identity:path:)` with the slabs and mapping limit given (compressed
    /// variants and precompressed siblings keep theirs apart from the cache's).
    /// `immutable`: the file is never rewritten (a stored variant), so the body
    /// keeps `file` open for sendfile (`MappedFile.immutableFile`).
    static func body(of file: OpenFile, identity: FileIdentity, path: String, slabs: SlabAllocator,
                     mappingLimit: Int, immutable: Bool = false) throws -> MappedFile {
        let kept = immutable ? file : nil
        guard identity.size <= Self.snapshotLimit,
              let copy = try MappedFile(copyOf: file.descriptor, count: identity.size, into: slabs, immutableFile: kept) else {
            guard MappedFile.fileMappings < mappingLimit else { throw SystemError(call: "mmap", code: .noMemory) }
            return try MappedFile(fd: file.descriptor, count: identity.size, source: (path, identity), immutableFile: kept)
        }
        guard try file.identity().sameVersion(as: identity) else {
            throw ConditionFailure("snapshot", .fileChanged)
        }
        return copy
    }

    /// Offers a file the direct opener just opened (its descriptor is mapped or
    /// copied; the file is not opened or stat'ed again). The body read for it
    /// comes back whether or not it was admitted, so a miss reads its file once.
    /// `observedSince`: a precise monotonic time before the opener's fstat of
    /// `origin` (the request's loop iteration start); it stands for the entry's
    /// first check (0: none yet).
    func admit(site: String, path: String, file origin: CandidateFile, worker: Int, observedSince: UInt64 = 0) -> Admission {
        // The loading index restores each shard's policy whole: admissions wait for it.
        if warming.load(ordering: .acquiring) { return Admission(outcome: .notAdmitted) }
        let c = counters[worker]
        let size = origin.identity.size
        if let r = origin.identity.isRegular ? rules.check(path: path, filePath: origin.path, size: size, contentType: origin.contentType) : .notRegular {
            c.rejectionsByRule.wrappingAdd(1, ordering: .relaxed)
            return Admission(outcome: .rejected(r))
        }
        let h = CacheKey.hash(site: site, path: path)
        let shard = shard(for: h)
        let resident = shard.state.withLock { s in
            s.entries[h].map { $0.matches(site: site, path: path) && $0.identity.sameVersion(as: origin.identity) } ?? false
        }
        if resident { return Admission(outcome: .alreadyCached) }
        // Checked once here: a hit builds its head from these values unchecked.
        guard EntryHeaders.isSafe(origin.contentType), EntryHeaders.isSafe(origin.etag) else {
            return Admission(outcome: .failed)
        }
        let mapping: MappedFile
        do { mapping = try body(of: origin.file, identity: origin.identity, path: origin.path) } catch {
            // One line a second at most: a full map table fails every admission.
            if mapFailureLog.due(now: Clock.monotonicNanos()) { log("cache: cannot map \(origin.path): \(error)") }
            return Admission(outcome: .failed)
        }
        let now = Clock.monotonicNanos()
        let wallNow = Clock.wallNanos()
        let entry = CacheEntry(key: CacheKey.make(site: site, path: path),
                               originPath: origin.path, identity: origin.identity, marksHits: config.xCacheHeader,
                               contentType: origin.contentType, mapping: mapping,
                               insertedAtNanos: wallNow,
                               accessCount: 1, checkedAtNanos: observedSince, lastAccessNanos: wallNow, touchedAtNanos: now)
        var outcome = AdmitOutcome.notAdmitted
        var evicted: [CacheEntry] = []
        var replaced: CacheEntry?
        var state: PolicyEntryState?
        shard.state.withLock { s in
            if let old = s.entries[h] {
                guard old.matches(site: site, path: path) else { outcome = .collision; return }
                if old.identity.sameVersion(as: origin.identity) { outcome = .alreadyCached; return }
                _ = s.remove(old, hash: h)
                replaced = old
            }
            let (admitted, keys) = s.policy.recordMiss(h, size: config.charge(forSize: size))
            for k in keys {
                if let v = s.entries.removeValue(forKey: k) {
                    s.bytes -= v.identity.size
                    evicted.append(v)
                }
            }
            if admitted {
                s.entries[h] = entry
                s.bytes += size
                state = s.policy.state(of: h)
                outcome = .admitted
            }
        }
        c.evictions.wrappingAdd(UInt64(evicted.count), ordering: .relaxed)
        if let p = persistence {
            for v in evicted { p.enqueue(.remove(key: v.key)) }
            if let old = replaced, outcome != .admitted { p.enqueue(.remove(key: old.key)) }
            if outcome == .admitted {
                let st = state ?? PolicyEntryState(word: 0, sequence: 0)
                p.enqueue(.put(entry.record(policyState: (st.word, st.sequence))))
            }
        }
        if outcome == .admitted { c.admissions.wrappingAdd(1, ordering: .relaxed) }
        if totals.due(now: now) { sendCounters(now: now) }
        // The entry holds the body now (admitted or not, it answers this miss).
        return Admission(outcome: outcome, body: entry)
    }
}
