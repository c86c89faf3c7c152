import CapuchinSystem
import Dispatch
import HTTPCore

/// Start-up recovery, and lookups while the index loads.
extension ProxyBodyStore {
    // MARK: recovery

    static func recover(root: String, index: ProxyIndex, report: inout RecoveryReport,
                                log: (String) -> Void) throws -> [String: [CachedObject]] {
        var referenced = Set<String>()
        var loaded: [String: [CachedObject]] = [:]
        let entries = try index.proxiedEntries()
        let checks = checkedAll(entries, root: root)
        for (entry, (object, problem)) in zip(entries, checks) {
            guard let object else {
                log("proxy cache: dropping \(entry.key): \(problem ?? "")")
                index.remove(key: entry.key)
                if entry.bodyPath.hasPrefix(root + "/") { BodyFiles.unlinkIfPresent(entry.bodyPath) }
                report.entriesDropped += 1
                continue
            }
            referenced.insert(entry.bodyPath)
            loaded[primary(ofStoreKey: entry.key), default: []].append(object)
            report.entriesKept += 1
        }
        for dir in BodyFiles.list(root) where dir != "tmp" {
            for name in BodyFiles.list(root + "/" + dir) {
                let path = root + "/" + dir + "/" + name
                if !referenced.contains(path) {
                    BodyFiles.unlinkIfPresent(path)
                    report.orphanBodiesRemoved += 1
                }
            }
        }
        // Removed entries and bodies: make the index agree before serving.
        if report.entriesDropped > 0 { try index.flush() }
        return loaded
    }

    /// `checked` of every entry, in order, on one thread per core: the stat of
    /// each body and the decoding of its metadata are 43% of a load's CPU
    /// time (perf, 200,000 responses), each entry independent of the others.
    static func checkedAll(_ entries: [ProxyIndexEntry], root: String) -> [(CachedObject?, String?)] {
        let n = entries.count
        let threads = min(SystemThread.processorCount, 8, max(1, n / 4096))
        if threads == 1 { return entries.map { checked($0, root: root) } }
        var out = [(CachedObject?, String?)](repeating: (nil, nil), count: n)
        out.withUnsafeMutableBufferPointer { buffer in
            let results = Slots(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                // Contiguous ranges: each thread writes only its own slots.
                for i in (n * t / threads)..<(n * (t + 1) / threads) { results.base[i] = checked(entries[i], root: root) }
            }
        }
        return out
    }

    /// The results' buffer, shared by `checkedAll`'s threads (disjoint ranges).
    private struct Slots: @unchecked Sendable { // safe: each index is written by one thread, read after concurrentPerform returns
        let base: UnsafeMutablePointer<(CachedObject?, String?)>
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
