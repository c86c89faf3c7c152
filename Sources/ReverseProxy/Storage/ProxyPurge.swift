import CapuchinSystem
import Dispatch

/// Purges of many stored responses at once (by tag, prefix or key), hard or
/// soft. They run on the caller's thread (the admin API's own), never on a
/// worker: the in-memory table is changed in batches of `purgeBatch` keys, so
/// a worker's lookup waits for one batch at most, and the index gets every
/// change of the purge in one transaction (all applied or none, also after kill -9).
extension ProxyBodyStore {
    /// Keys handled per hold of the table's lock.
    static let purgeBatch = 1_000
    /// Microseconds between two batches (100,000 keys: 100 pauses, 20 ms).
    static let purgePause: UInt32 = 200

    /// Removes (`soft`: marks stale) the stored responses carrying any of
    /// `tags`, found through the index's tag index (in memory when the index
    /// keeps none). Returns how many. Throws when the index cannot be read.
    public func purge(tags: [String], soft: Bool = false) throws -> Int {
        waitUntilLoaded()
        let start = ContinuousClock.now
        let keys = try index.keys(taggedWith: tags) ?? keysInMemory(taggedWith: Set(tags))
        let found = ContinuousClock.now
        let n = purge(storeKeys: keys, soft: soft)
        let took = start.duration(to: .now)
        if took > .milliseconds(100) {
            log("proxy cache: \(soft ? "soft-purging" : "purging") \(n) response(s) by tag took \(took.milliseconds) ms (tag index \(start.duration(to: found).milliseconds) ms)")
        }
        return n
    }

    /// A scan of the table (only for an index without a tag index).
    private func keysInMemory(taggedWith tags: Set<String>) -> [String] {
        state.withLock { st in
            st.table.values.flatMap { variants in variants.filter { !tags.isDisjoint(with: $0.entry.tags) }.map(\.entry.key) }
        }
    }

    /// Removes the stored responses under `keys` (store keys), or with `soft`
    /// keeps them marked stale as of `nowNanos`: each is then revalidated on
    /// its next use, and still served when the origin fails (persisted: also
    /// after a restart). Returns how many responses it found.
    func purge(storeKeys keys: [String], soft: Bool, nowNanos: Int64 = Clock.wallNanos()) -> Int {
        var changed: [ProxyIndexEntry] = []
        var start = 0
        while start < keys.count {
            // The lock is not fair: taken again at once, it would starve the
            // workers waiting for it for the whole purge (hits' p99 went to ~1 s
            // during a purge of 100,000). A pause between batches lets them in.
            if start > 0 { Clock.sleep(micros: Self.purgePause) }
            let batch = keys[start..<min(start + Self.purgeBatch, keys.count)]
            start += batch.count
            state.withLock { st in
                for key in batch {
                    let primary = Self.primary(ofStoreKey: key)
                    guard let i = st.table[primary]?.firstIndex(where: { $0.entry.key == key }) else { continue }
                    if soft {
                        let object = st.table[primary]![i]
                        var entry = object.entry
                        entry.softPurgedAtNanos = nowNanos
                        st.table[primary]![i] = CachedObject(entry: entry, response: object.response)
                        changed.append(entry)
                    } else {
                        Self.forget(key, in: &st)
                        changed.append(st.table[primary]!.remove(at: i).entry)
                        if st.table[primary]!.isEmpty { st.table.removeValue(forKey: primary) }
                    }
                }
            }
        }
        if soft {
            index.put(contentsOf: changed)
        } else {
            index.remove(keys: changed.map(\.key))
            // 100,000 unlinks take about a second: done after the purge returns.
            // Nothing names these files any more; a crash meanwhile leaves
            // orphans, which the start-up recovery removes.
            // Paced, so the unlinks do not take the cores from the workers.
            let paths = changed.map(\.bodyPath)
            reaper.async {
                for (i, p) in paths.enumerated() {
                    BodyFiles.unlinkIfPresent(p)
                    if i % Self.purgeBatch == Self.purgeBatch - 1 { Clock.sleep(micros: 10 * Self.purgePause) }
                }
            }
        }
        return changed.count
    }

    /// Waits until the body files of the purges so far are unlinked.
    public func waitForBodyRemovals() { reaper.sync {} }
}

extension Duration {
    /// Whole milliseconds (for logs).
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
