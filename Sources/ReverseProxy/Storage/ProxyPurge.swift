import CapuchinSystem
import Dispatch

/// Purges of stored responses, hard or soft. A purge by tag or by prefix (and
/// a clear) records a stamp (`PurgeStamps`), commits it to the index and
/// answers: from then on every lookup treats the responses it covers as gone
/// (hard) or stale (soft), also after kill -9. The lurker (a thread of its
/// own) then removes or marks them, changing the in-memory table in holds of
/// at most `purgeBatch` keys or `purgeHoldNanos`, so a worker's lookup waits
/// for one hold at most, and drops the stamp when done. A purge by key (a few
/// responses) is done at once, the same batched way, on the caller's thread
/// (the admin API's own, never a worker).
extension ProxyBodyStore {
    /// Keys handled per hold of the table's lock, at most.
    static let purgeBatch = 4_096
    /// And for at most this long (a hold ends early on a slow, loaded machine).
    static let purgeHoldNanos: UInt64 = 1_000_000
    /// Microseconds between two holds. On a loaded machine each pause costs a
    /// wait for a core: 1-3 ms measured (load 11 on 2 cores), so holds are few.
    static let purgePause: UInt32 = 200

    /// Removes (`soft`: marks stale) the stored responses carrying any of
    /// `tags`; returns how many carry them now. In force for every lookup when
    /// it returns; the entries go in the background. Throws the index's error
    /// when the stamp cannot be committed (the purge then holds until a restart only).
    public func purge(tags: [String], soft: Bool = false) throws -> Int {
        waitUntilLoaded()
        let targets = Set(tags.filter { !$0.isEmpty }).map { PurgeStamps.Target(kind: .tag, name: $0) }
        guard !targets.isEmpty else { return 0 }
        let now = Clock.wallNanos()
        // Stamp and key sets in one hold: every response stored before the stamp is in the sets.
        let sets = state.withLock { st -> [Set<String>] in
            for t in targets { st.stamps.record(t, soft: soft, at: now) }
            saveStamps(st.stamps)
            return st.tags.sets(for: targets.map(\.name))
        }
        // An array at once: the copied sets share the map's storage until they are let go.
        let keys = TagMap.union(sets)
        // Queued after the stamp: the index never has the removals without it.
        lurk(keys, targets: targets, soft: soft, at: now)
        try index.flush()
        return keys.count
    }

    /// The same for every stored response whose store key starts with `prefix`
    /// (`proxy:` clears the proxy cache); returns how many. The keys are read
    /// from the index (a seek, no scan of the table under its lock).
    public func purge(prefix: String, soft: Bool = false) -> Int {
        // Store keys all start with `proxy:`: a shorter prefix of it means them all, another prefix none.
        guard prefix.hasPrefix(Self.keyPrefix) || Self.keyPrefix.hasPrefix(prefix) else { return 0 }
        let prefix = prefix.count < Self.keyPrefix.count ? Self.keyPrefix : prefix
        waitUntilLoaded()
        let target = PurgeStamps.Target(kind: .prefix, name: prefix)
        let now = Clock.wallNanos()
        state.withLock { st in
            st.stamps.record(target, soft: soft, at: now)
            saveStamps(st.stamps)
        }
        do { try index.flush() } catch { log("proxy cache: committing the purge of \(prefix): \(error); it holds until a restart only") }
        let keys = keysStored(under: prefix)
        lurk(keys, targets: [target], soft: soft, at: now)
        return keys.count
    }

    /// Removes (`soft`: marks stale) the stored responses named by `key`: a
    /// store key (one variant, as `cachedump` lists it) or `proxy:` + primary
    /// key (every variant). Returns how many. Done before it returns.
    public func purge(key: String, soft: Bool = false) -> Int {
        guard key.hasPrefix(Self.keyPrefix) else { return 0 }
        waitUntilLoaded()
        let keys = state.withLock { st -> [String] in
            let primary = Self.primary(ofStoreKey: key)
            return (st.table[primary] ?? []).map(\.entry.key).filter { $0 == key || key == Self.keyPrefix + primary }
        }
        return purge(storeKeys: keys, soft: soft, nowNanos: Clock.wallNanos()) { _ in true }
    }

    /// Waits until the purges so far are carried out and their body files unlinked.
    public func waitForBodyRemovals() {
        lurker.sync {}
        reaper.sync {}
    }

    // MARK: the hit path

    /// `object` as the outstanding purges make it: nil when a hard purge
    /// covers it, a copy marked soft-purged when a soft one does (its body
    /// mapping and hit head are shared). Called under the table's lock when
    /// `stamps` is not empty: an object without tags costs a check per prefix purge outstanding.
    static func stamped(_ object: CachedObject, _ stamps: PurgeStamps) -> CachedObject? {
        switch stamps.verdict(key: object.entry.key, tags: object.entry.tags, validatedAtNanos: object.validatedAtNanos) {
        case .none: return object
        case .hard: return nil
        case .soft(let at):
            if object.entry.softPurgedAtNanos != 0 { return object }
            var marked = object
            marked.entry.softPurgedAtNanos = at
            return marked
        }
    }

    // MARK: the lurker

    /// Queues the stamp (under the table's lock, so stamps reach the index in the order they were made).
    func saveStamps(_ stamps: PurgeStamps) { index.saveBlob(PurgeStamps.blobName, stamps.encoded()) }

    /// Carries out the purge of `targets` stamped `at` on `keys` in the
    /// background, then drops its stamps (their new state committed after the removals).
    func lurk(_ keys: [String], targets: [PurgeStamps.Target], soft: Bool, at: Int64) {
        let tags = Set(targets.filter { $0.kind == .tag }.map(\.name))
        let prefixes = targets.filter { $0.kind == .prefix }.map(\.name)
        let answered = ContinuousClock.now
        lurker.async { [self] in
            // In the index's key order: each batch's commit then rewrites the
            // few pages its run of keys is on. In a tag's (hash) order every
            // batch dirtied nearly every page of the index, and the commits
            // (writing those pages) were most of a purge's time: 60-90 us a
            // key, ~1.2 s for 20,000 on a loaded machine.
            let keys = keys.sorted()
            let n = purge(storeKeys: keys, soft: soft, nowNanos: at, paced: true) { o in
                // Stored or validated after the purge: not covered (a 304 ends a soft purge).
                o.validatedAtNanos < at && (!soft || o.entry.softPurgedAtNanos == 0)
                    && (Self.carries(o.entry.tags, anyOf: tags) || prefixes.contains { o.entry.key.hasPrefix($0) })
            }
            state.withLock { st in
                var changed = false
                for t in targets { changed = st.stamps.settle(t, soft: soft, at: at) || changed }
                if changed { saveStamps(st.stamps) }
            }
            let took = answered.duration(to: .now)
            // Large or slow ones only (Tools/bench/tag_purge.py reads this line).
            if n >= 1_000 || took > .milliseconds(100) {
                log("proxy cache: \(soft ? "soft purge" : "purge") of \(targets.map { $0.kind == .tag ? "tag \($0.name)" : "prefix \($0.name)" }.joined(separator: ", ")) carried out: \(n) response(s) \(soft ? "marked" : "removed") in \(took.milliseconds) ms after it was answered")
            }
        }
    }

    /// The purges whose stamps the index had at start (not finished before a
    /// stop or crash): carried out again. Called once the table is loaded.
    func resumePurges() {
        let stamps = state.withLock { $0.stamps.stamps }
        for (target, s) in stamps {
            let keys: [String]
            if target.kind == .prefix {
                keys = keysStored(under: target.name)
            } else {
                keys = TagMap.union(state.withLock { $0.tags.sets(for: [target.name]) })
            }
            if s.hardNanos != 0 { lurk(keys, targets: [target], soft: false, at: s.hardNanos) }
            if s.softNanos != 0 { lurk(keys, targets: [target], soft: true, at: s.softNanos) }
        }
    }

    /// The store keys starting with `prefix`: from the index (committed: the
    /// caller flushed), or by a scan of the table when the index keeps none.
    private func keysStored(under prefix: String) -> [String] {
        if let keys = try? index.keys(prefix: prefix) { return keys }
        return state.withLock { st in st.table.values.flatMap { $0.map(\.entry.key) }.filter { $0.hasPrefix(prefix) } }
    }

    /// Removes the stored responses under `keys` (store keys) that `covered`
    /// accepts, or with `soft` keeps them marked stale as of `nowNanos`: each is
    /// then revalidated on its next use, and still served when the origin fails
    /// (persisted: also after a restart). Returns how many it found.
    ///
    /// Workers look responses up under the same lock, so only the table's
    /// changes are made under it, in batches: the string work (each key's
    /// primary key) is done before, and the removed objects are freed after.
    /// On a loaded machine a thread preempted while it holds the lock
    /// stalls every worker waiting for it: the less it does there, the rarer that is.
    func purge(storeKeys keys: [String], soft: Bool, nowNanos: Int64, paced: Bool = false, covered: (CachedObject) -> Bool) -> Int {
        var count = 0
        var next = 0
        while next < keys.count {
            // The lock is not fair: taken again at once, it would starve the
            // workers waiting for it for the whole purge (hits' p99 went to ~1 s
            // during a purge of 100,000). A pause between holds lets them in.
            if next > 0 { Clock.sleep(micros: Self.purgePause) }
            let end = min(next + Self.purgeBatch, keys.count)
            let targets = keys[next..<end].map { (primary: Self.primary(ofStoreKey: $0), key: $0) }
            var changed: [ProxyIndexEntry] = []
            var removed: [CachedObject] = []
            var i = 0
            state.withLock { st in
                // The precise clock: the coarse one ticks every 4 ms.
                let deadline = Clock.preciseMonotonicNanos() + Self.purgeHoldNanos
                while i < targets.count {
                    if i & 127 == 0 && i > 0 && Clock.preciseMonotonicNanos() > deadline { break }
                    let (primary, key) = targets[i]
                    i += 1
                    // One hash of the primary key per response (each `table[primary]` hashes it again).
                    guard let slot = st.table.index(forKey: primary),
                          let j = st.table.values[slot].firstIndex(where: { $0.entry.key == key }),
                          covered(st.table.values[slot][j]) else { continue }
                    if soft {
                        // In place: the object's body mapping and hit head stay valid.
                        st.table.values[slot][j].entry.softPurgedAtNanos = nowNanos
                        changed.append(st.table.values[slot][j].entry)
                    } else {
                        let object = st.table.values[slot].remove(at: j)
                        if st.table.values[slot].isEmpty { st.table.remove(at: slot) }
                        if st.keys.removeValue(forKey: object.policyKey) != nil { st.policy?.remove(object.policyKey) }
                        st.tags.remove(object.entry)
                        removed.append(object)
                    }
                }
                // In the table's order (see `commit`). Whole records: the store's own
                // soft-purge operation decodes and re-encodes each in the writer, 10
                // times slower there (2.5 s for 100,000 loaded).
                if soft { index.put(contentsOf: changed) } else if !removed.isEmpty { index.remove(keys: removed.map(\.entry.key)) }
            }
            next += i
            count += soft ? changed.count : removed.count
            discard(removed)
            // The lurker waits for each batch's commit: the index writer never
            // has more than a batch queued, so a purge answering meanwhile
            // (its stamp's commit) waits for one batch at most, not for 100,000.
            if paced, !changed.isEmpty || !removed.isEmpty { try? index.flush() }
        }
        return count
    }

    /// Hands `removed` (taken out of the table and the index) to the
    /// reaper, which unlinks their bodies and frees them, paced, so they do not
    /// take the cores from the workers (100,000 unlinks take about a second,
    /// freeing 100,000 objects another). Nothing names these files any more;
    /// a crash meanwhile leaves orphans, which the start-up recovery removes.
    func discard(_ removed: [CachedObject]) {
        guard !removed.isEmpty else { return }
        let dying = Dying(removed)
        reaper.async { [self] in
            removalHook.withLock { $0 }?(dying.objects.map(\.entry))
            while !dying.objects.isEmpty {
                let n = min(Self.purgeBatch, dying.objects.count)
                for o in dying.objects.suffix(n) { unlinkBody(o.entry.bodyPath) }
                dying.objects.removeLast(n)
                if !dying.objects.isEmpty { Clock.sleep(micros: 10 * Self.purgePause) }
            }
        }
    }

    /// Whether `entryTags` holds one of `tags` (one tag, the common purge: compared, not hashed).
    static func carries(_ entryTags: [String], anyOf tags: Set<String>) -> Bool {
        if tags.isEmpty { return false }
        if tags.count == 1, let tag = tags.first { return entryTags.contains(tag) }
        return !tags.isDisjoint(with: entryTags)
    }
}

/// Removed objects handed to the reaper, which owns them alone (freed a batch at a time, not copied).
private final class Dying: @unchecked Sendable { // safe: used by the reaper only once handed over
    var objects: [CachedObject]
    init(_ objects: [CachedObject]) { self.objects = objects }
}

extension Duration {
    /// Whole milliseconds (for logs).
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
