import CapuchinSystem
import Dispatch
import HTTPCore

/// Start-up recovery, and lookups while the index loads. As the file cache's
/// load: the index is read and installed first (records decoded, metadata
/// decoded on one thread per core, no file looked at), then the bodies are
/// checked in the background while the table serves (a body missing or of
/// another size is also found by its first hit, `mappedBody`).
extension ProxyBodyStore {
    // MARK: recovery

    /// The first pass: every indexed response whose metadata decodes, by
    /// primary key, and the body files present (listed now, while nothing is
    /// stored: the second pass takes those no entry names for orphans).
    static func readIndex(root: String, index: ProxyIndex, report: inout RecoveryReport,
                          log: (String) -> Void) throws -> LoadedIndex {
        // The listing runs beside the index read (another core; a directory per hash prefix).
        let listing = Listing()
        let listed = DispatchGroup()
        DispatchQueue.global().async(group: listed) { listing.paths = bodyFiles(root: root) }
        var entries: [ProxyIndexEntry] = []
        let undecodable: Int
        do { undecodable = try index.forEachProxiedEntry { entries.append($0) } } catch {
            listed.wait()
            throw error
        }
        if undecodable > 0 { log("proxy cache: \(undecodable) index record(s) could not be decoded") }
        report.entriesDropped += undecodable
        var objects = parallelMap(entries) { e -> CachedObject? in
            guard e.bodyPath.hasPrefix(root + "/"), let r = try? StoredResponseCodec.decode(e.extra),
                  Int64(r.bodySize) == e.size else { return nil }
            return CachedObject(entry: e, response: r)
        }
        var loaded: [String: [CachedObject]] = [:]
        loaded.reserveCapacity(entries.count)
        var removedBodies = Set<String>()
        // Each object moved into the table, not copied (a copy retains each of its ~20 references).
        for i in entries.indices {
            guard let object = objects[i].take() else {
                drop(entries[i], "bad metadata or body outside the store", root: root, index: index, report: &report, log: log)
                removedBodies.insert(entries[i].bodyPath)
                continue
            }
            loaded[primary(ofStoreKey: entries[i].key), default: []].append(object)
            report.entriesKept += 1
        }
        objects = []
        if !removedBodies.isEmpty { entries.removeAll { removedBodies.contains($0.bodyPath) } }
        // Removed entries: make the index agree before serving.
        if report.entriesDropped > undecodable { try index.flush() }
        listed.wait()
        return LoadedIndex(table: loaded, entries: entries,
                           files: removedBodies.isEmpty ? listing.paths : listing.paths.filter { !removedBodies.contains($0) })
    }

    /// What the first pass read: the table to install, then for the second
    /// pass the entries loaded and the body files listed.
    struct LoadedIndex {
        var table: [String: [CachedObject]]
        var entries: [ProxyIndexEntry]
        var files: [String]
    }

    /// The body files under `root` (not the temporary directory's).
    private static func bodyFiles(root: String) -> [String] {
        var out: [String] = []
        for dir in BodyFiles.list(root) where dir != "tmp" {
            for name in BodyFiles.list(root + "/" + dir) { out.append(root + "/" + dir + "/" + name) }
        }
        return out
    }

    /// The listing's result, handed from its thread (read after `DispatchGroup.wait`).
    private final class Listing: @unchecked Sendable { // safe: written by one task, read after the group's wait
        var paths: [String] = []
    }

    /// Removes an index entry found unusable, and its body when in the store.
    private static func drop(_ entry: ProxyIndexEntry, _ problem: String, root: String, index: ProxyIndex,
                             report: inout RecoveryReport, log: (String) -> Void) {
        log("proxy cache: dropping \(entry.key): \(problem)")
        index.remove(key: entry.key)
        if entry.bodyPath.hasPrefix(root + "/") { BodyFiles.unlinkIfPresent(entry.bodyPath) }
        report.entriesDropped += 1
    }

    /// The second pass, while serving: a stat of each loaded body (one thread
    /// per core) drops the entries whose body is missing or of another size
    /// (unless replaced meanwhile), then the listed files no loaded entry
    /// names are removed (a body stored since has a new name, not listed).
    func checkBodies(_ entries: [ProxyIndexEntry], files: [String]) {
        let started = Clock.monotonicNanos()
        let sizes = Self.parallelMap(entries) { BodyFiles.regularFileSize($0.bodyPath) }
        var report = RecoveryReport()
        var bad = 0
        for (e, size) in zip(entries, sizes) where size != e.size {
            bad += 1
            if bad <= 10 { log("proxy cache: dropping \(e.key): body \(size.map { "size \($0) != \(e.size)" } ?? "file missing")") }
            if removeIfCurrent(e) { report.entriesDropped += 1 }
        }
        if bad > 10 { log("proxy cache: \(bad - 10) more response(s) dropped for a missing or resized body") }
        var referenced = Set<String>(minimumCapacity: entries.count)
        for e in entries { referenced.insert(e.bodyPath) }
        for path in files where !referenced.contains(path) {
            BodyFiles.unlinkIfPresent(path)
            report.orphanBodiesRemoved += 1
        }
        recoveryReport.withLock {
            $0.entriesKept -= report.entriesDropped
            $0.entriesDropped += report.entriesDropped
            $0.orphanBodiesRemoved += report.orphanBodiesRemoved
        }
        if report.entriesDropped > 0 { try? index.flush() }
        info("proxy cache: checked \(entries.count) bodies in \((Clock.monotonicNanos() - started) / 1_000_000) ms: "
            + "\(report.entriesDropped) dropped, \(report.orphanBodiesRemoved) orphan bod(ies) removed")
    }

    /// Removes `entry`'s response if the table still holds that one (same body); whether it did.
    private func removeIfCurrent(_ entry: ProxyIndexEntry) -> Bool {
        let current = state.withLock { st in
            st.table[Self.primary(ofStoreKey: entry.key)]?.contains { $0.entry.bodyPath == entry.bodyPath } ?? false
        }
        if current { remove(key: entry.key) }
        return current
    }

    /// `transform` of every item, in order, on one thread per core (up to 8)
    /// past 4,096 items: each item independent of the others.
    static func parallelMap<T: Sendable, R>(_ items: [T], _ transform: @escaping @Sendable (T) -> R) -> [R] {
        let n = items.count
        let threads = min(SystemThread.processorCount, 8, max(1, n / 4096))
        if threads == 1 { return items.map(transform) }
        return [R](unsafeUninitializedCapacity: n) { buffer, count in
            let slots = Slots(base: UnsafeMutableRawPointer(buffer.baseAddress!))
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                // Contiguous ranges: each thread initializes only its own slots.
                let out = slots.base.assumingMemoryBound(to: R.self)
                for i in (n * t / threads)..<(n * (t + 1) / threads) { (out + i).initialize(to: transform(items[i])) }
            }
            count = n
        }
    }

    /// The results' buffer, shared by `parallelMap`'s threads (disjoint ranges).
    private struct Slots: @unchecked Sendable { // safe: each index is written by one thread, read after concurrentPerform returns
        let base: UnsafeMutableRawPointer
    }

    /// The object of an index entry whose body file is in the store with the
    /// indexed size and whose metadata decodes; else nil and what is wrong.
    static func checked(_ entry: ProxyIndexEntry, root: String) -> (CachedObject?, String?) {
        guard entry.bodyPath.hasPrefix(root + "/") else { return (nil, "body outside the store") }
        guard let size = BodyFiles.regularFileSize(entry.bodyPath) else { return (nil, "body file missing") }
        guard let response = try? StoredResponseCodec.decode(entry.extra) else { return (nil, "bad metadata") }
        guard size == entry.size, Int64(response.bodySize) == entry.size else {
            return (nil, "body size \(size) != \(entry.size)")
        }
        return (CachedObject(entry: entry, response: response), nil)
    }

    /// While the index loads: `primary`'s variant for these request headers,
    /// read from the index and checked as the recovery checks it (not kept:
    /// the load does that), with the purges already recorded applied.
    func warmingLookup(primary: String, requestHeaders: HTTPHeaders) -> CachedObject? {
        let stamps = state.withLock { $0.stamps }
        for entry in indexedVariants(of: primary) {
            if let object = Self.checked(entry, root: root).0, object.response.vary.matches(requestHeaders) {
                return stamps.isEmpty ? object : Self.stamped(object, stamps)
            }
        }
        return nil
    }

    /// `primary`'s entries as the index has them (empty when it cannot be read):
    /// with the LMDB index one seek that reads only that primary key's variants.
    func indexedVariants(of primary: String) -> [ProxyIndexEntry] {
        let entries = (try? index.proxiedEntries(prefix: Self.keyPrefix + primary + "#")) ?? []
        return entries.filter { Self.primary(ofStoreKey: $0.key) == primary }
    }
}
