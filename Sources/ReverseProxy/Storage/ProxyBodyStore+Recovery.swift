import CachePolicies
import CapuchinSystem
import Dispatch
import HTTPCore

/// Start-up recovery, and lookups while the index loads. As the file cache's
/// load: the index is read and installed first (records decoded, metadata
/// checked and its Vary key decoded on one thread per core, the headers left
/// encoded until first use, no file looked at), then the bodies are
/// checked in the background while the table serves (a body missing or of
/// another size is also found by its first hit, `mappedBody`).
extension ProxyBodyStore {
    // MARK: loading

    /// Loads the index on a thread of its own, as nginx's cache loader does,
    /// in two passes as the file cache's: the index is read and installed
    /// (`readIndex`: records decoded, metadata checked, no file looked at), then
    /// `onDone` is called (with the load's error, or nil) and the bodies are
    /// checked while the table serves (`checkBodies`). Until the install a
    /// lookup reads its primary key's entries from the index (one seek to its
    /// variants, not a scan of the index, and a stat each), nothing new is
    /// stored, and purges wait for the load. Throws `SystemError` when the
    /// thread cannot be started.
    public func startLoading(onDone: @escaping @Sendable (Error?) -> Void) throws {
        try loading.start(name: "proxy-load") { [self] in
            var failure: Error?
            var read: LoadedIndex?
            do { read = try install() } catch { failure = error }
            warming.store(false, ordering: .releasing)
            onDone(failure)
            if let read { checkBodies(read.entries, files: read.files) }
        }
    }

    /// Waits for a load started by `startLoading`, its check of the bodies included.
    public func waitUntilLoaded() { loading.wait() }

    /// Whether the index is still loading (not yet installed).
    public var isWarming: Bool { warming.load(ordering: .acquiring) }

    /// Both passes of the load, on this thread.
    func load() throws {
        let read = try install()
        checkBodies(read.entries, files: read.files)
    }

    /// The first pass, then the table and the policy: returns what the second
    /// pass checks. The table is empty until this ends (nothing is stored
    /// while warming), so installing it replaces nothing.
    private func install() throws -> LoadedIndex {
        let started = Clock.monotonicNanos(), cpuStarted = Clock.threadCPUSeconds()
        var report = recovery
        var read = try Self.readIndex(root: root, index: index, report: &report, log: log)
        let readAt = Clock.monotonicNanos()
        var st = State()
        for e in read.entries { st.tags.add(e) }
        var dropped: [UInt64] = []
        if let limit {
            let policy = makePolicy(.default, capacity: limit.bytes)
            var list: [(key: UInt64, size: Int, state: PolicyEntryState)] = []
            list.reserveCapacity(report.entriesKept)
            st.keys.reserveCapacity(report.entriesKept)
            for (e, h) in zip(read.entries, read.policyKeys) {
                st.keys[h] = e.key
                list.append((h, limit.charge(forSize: Int(e.size)), Self.restoredState(of: e)))
            }
            dropped = policy.restore(list)
            restoreGlobalPolicyState(policy)
            st.policy = policy
            report.entriesKept -= dropped.count
            report.entriesDropped += dropped.count
        }
        // Moved in, not copied.
        swap(&st.table, &read.table)
        recoveryReport.withLock { $0 = report }
        let droppedKeys = dropped.compactMap { st.keys[$0] }
        // Swapped, not assigned: a copy kept here would make the next change of the table copy it whole.
        state.withLock { now in
            st.stamps = now.stamps
            swap(&now, &st)
        }
        for key in droppedKeys { remove(key: key) }
        if !dropped.isEmpty { log("proxy cache: \(dropped.count) response(s) over the size limit dropped") }
        resumePurges()
        info("proxy cache: \(report.entriesKept) response(s) installed in \((Clock.monotonicNanos() - started) / 1_000_000) ms "
             + "(read \((readAt - started) / 1_000_000) ms; \(Int((Clock.threadCPUSeconds() - cpuStarted) * 1000)) ms of CPU "
             + "on the load thread); checking their bodies")
        return read
    }

    // MARK: recovery

    /// The first pass: every indexed response whose metadata checks out, by
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
        // The headers stay encoded until the response's first use (`CachedObject.response`).
        // The table's key too (a string made per response) off this thread.
        var objects = parallelMap(entries) { e -> (object: CachedObject, primary: String)? in
            guard e.bodyPath.hasPrefix(root + "/"), let object = CachedObject(loaded: e) else { return nil }
            return (object, primary(ofStoreKey: e.key))
        }
        var loaded: [String: [CachedObject]] = [:]
        loaded.reserveCapacity(entries.count)
        var policyKeys: [UInt64] = []
        policyKeys.reserveCapacity(entries.count)
        var removedBodies = Set<String>()
        // Each object moved into the table, not copied (a copy retains each of its references).
        for i in entries.indices {
            guard let (object, primary) = objects[i].take() else {
                drop(entries[i], "bad metadata or body outside the store", root: root, index: index, report: &report, log: log)
                removedBodies.insert(entries[i].bodyPath)
                policyKeys.append(0)
                continue
            }
            policyKeys.append(object.policyKey)
            loaded[primary, default: []].append(object)
            report.entriesKept += 1
        }
        objects = []
        if !removedBodies.isEmpty {
            var keptEntries: [ProxyIndexEntry] = [], keptKeys: [UInt64] = []
            for (e, h) in zip(entries, policyKeys) where !removedBodies.contains(e.bodyPath) {
                keptEntries.append(e)
                keptKeys.append(h)
            }
            entries = keptEntries
            policyKeys = keptKeys
        }
        // Removed entries: make the index agree before serving.
        if report.entriesDropped > undecodable { try index.flush() }
        listed.wait()
        return LoadedIndex(table: loaded, entries: entries, policyKeys: policyKeys,
                           files: removedBodies.isEmpty ? listing.paths : listing.paths.filter { !removedBodies.contains($0) })
    }

    /// What the first pass read: the table to install, then for the second
    /// pass the entries loaded and the body files listed.
    struct LoadedIndex {
        var table: [String: [CachedObject]]
        var entries: [ProxyIndexEntry]
        /// `entries`' keys in the eviction policy (hashed once, by their objects).
        var policyKeys: [UInt64]
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
    func removeIfCurrent(_ entry: ProxyIndexEntry) -> Bool {
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
            if let object = Self.checked(entry, root: root).0, object.vary.matches(requestHeaders) {
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
