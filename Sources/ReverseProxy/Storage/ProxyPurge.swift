import CapuchinSystem
import Dispatch

/// Purges of many stored responses at once (by tag, prefix or key), hard or
/// soft. They run on the caller's thread (the admin API's own), never on a
/// worker: the in-memory table is changed in holds of at most `purgeBatch`
/// keys or `purgeHoldNanos`, so a worker's lookup waits for one hold at most, and the index gets every
/// change of the purge in one transaction (all applied or none, also after kill -9).
extension ProxyBodyStore {
    /// Keys handled per hold of the table's lock, at most.
    static let purgeBatch = 4_096
    /// And for at most this long (a hold ends early on a slow, loaded machine).
    static let purgeHoldNanos: UInt64 = 1_000_000
    /// Microseconds between two holds. On a loaded machine each pause costs a
    /// wait for a core: 1-3 ms measured (load 11 on 2 cores), so holds are few.
    static let purgePause: UInt32 = 200

    /// Removes (`soft`: marks stale) the stored responses carrying any of
    /// `tags`, found through the in-memory tag map (`TagMap`). Returns how
    /// many. Throws nothing today (the signature allows an index-backed lookup).
    public func purge(tags: [String], soft: Bool = false) throws -> Int {
        waitUntilLoaded()
        let start = ContinuousClock.now
        // The sets are copied under the lock (O(1)) and let go before the purge changes the map.
        let keys = TagMap.union(state.withLock { $0.tags.sets(for: tags) })
        let found = ContinuousClock.now
        let n = purge(storeKeys: keys, soft: soft, taggedWith: Set(tags))
        let took = start.duration(to: .now)
        if took > .milliseconds(100) {
            log("proxy cache: \(soft ? "soft-purging" : "purging") \(n) response(s) by tag took \(took.milliseconds) ms (finding them \(start.duration(to: found).milliseconds) ms)")
        }
        return n
    }

    /// Removes the stored responses under `keys` (store keys), or with `soft`
    /// keeps them marked stale as of `nowNanos`: each is then revalidated on
    /// its next use, and still served when the origin fails (persisted: also
    /// after a restart). `taggedWith`: only those carrying one of these tags.
    /// Returns how many responses it found.
    ///
    /// Workers look responses up under the same lock, so only the table's
    /// changes are made under it, in batches: the string work (each key's
    /// primary key) is done before, and the removed objects are freed after.
    /// On a loaded machine a purge thread preempted while it holds the lock
    /// stalls every worker waiting for it: the less it does there, the rarer that is.
    func purge(storeKeys keys: [String], soft: Bool, nowNanos: Int64 = Clock.wallNanos(), taggedWith tags: Set<String>? = nil) -> Int {
        var changed: [ProxyIndexEntry] = []
        var removed: [CachedObject] = []
        let targets = keys.map { (primary: Self.primary(ofStoreKey: $0), key: $0) }
        var next = 0
        while next < targets.count {
            // The lock is not fair: taken again at once, it would starve the
            // workers waiting for it for the whole purge (hits' p99 went to ~1 s
            // during a purge of 100,000). A pause between holds lets them in.
            if next > 0 { Clock.sleep(micros: Self.purgePause) }
            let end = min(next + Self.purgeBatch, targets.count)
            state.withLock { st in
                // The precise clock: the coarse one ticks every 4 ms.
                let first = next, deadline = Clock.preciseMonotonicNanos() + Self.purgeHoldNanos
                while next < end {
                    if next & 127 == 0 && next > first && Clock.preciseMonotonicNanos() > deadline { break }
                    let (primary, key) = targets[next]
                    next += 1
                    // One hash of the primary key per response (each `table[primary]` hashes it again).
                    guard let slot = st.table.index(forKey: primary),
                          let i = st.table.values[slot].firstIndex(where: { $0.entry.key == key }) else { continue }
                    if let tags, !Self.carries(st.table.values[slot][i].entry.tags, anyOf: tags) { continue }
                    if soft {
                        // In place: the object's body mapping and hit head stay valid.
                        st.table.values[slot][i].entry.softPurgedAtNanos = nowNanos
                        changed.append(st.table.values[slot][i].entry)
                    } else {
                        let object = st.table.values[slot].remove(at: i)
                        if st.table.values[slot].isEmpty { st.table.remove(at: slot) }
                        if st.keys.removeValue(forKey: object.policyKey) != nil { st.policy?.remove(object.policyKey) }
                        st.tags.remove(object.entry)
                        removed.append(object)
                    }
                }
            }
        }
        if soft {
            // Whole records: the store's own soft-purge operation decodes and
            // re-encodes each in the writer, 10 times slower there (2.5 s for 100,000 loaded).
            index.put(contentsOf: changed)
            return changed.count
        }
        index.remove(keys: removed.map(\.entry.key))
        let count = removed.count
        // 100,000 unlinks take about a second, and freeing 100,000 objects
        // another (1.2 s on the loaded machine): both after the purge returns,
        // paced, so they do not take the cores from the workers. Nothing names
        // these files any more; a crash meanwhile leaves orphans, which the
        // start-up recovery removes.
        let dying = Dying(removed)
        removed = []
        reaper.async {
            while !dying.objects.isEmpty {
                let n = min(Self.purgeBatch, dying.objects.count)
                for o in dying.objects.suffix(n) { BodyFiles.unlinkIfPresent(o.entry.bodyPath) }
                dying.objects.removeLast(n)
                if !dying.objects.isEmpty { Clock.sleep(micros: 10 * Self.purgePause) }
            }
        }
        return count
    }

    /// Whether `entryTags` holds one of `tags` (one tag, the common purge: compared, not hashed).
    private static func carries(_ entryTags: [String], anyOf tags: Set<String>) -> Bool {
        if tags.count == 1, let tag = tags.first { return entryTags.contains(tag) }
        return !tags.isDisjoint(with: entryTags)
    }

    /// Waits until the body files of the purges so far are unlinked.
    public func waitForBodyRemovals() { reaper.sync {} }
}

/// Removed objects handed to the reaper, which owns them alone (freed a batch at a time, not copied).
private final class Dying: @unchecked Sendable { // safe: used by the reaper only once handed over
    var objects: [CachedObject]
    init(_ objects: [CachedObject]) { self.objects = objects }
}

extension Duration {
    /// Whole milliseconds (for logs).
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
