import CacheStore
import CapuchinSystem
import Synchronization

/// Serving while the index loads: loading 100,000 entries takes most of a
/// second (reads, decoding, a stat each), so the server listens at once and
/// a lookup the loaded index cannot answer yet reads its one record from the
/// store instead (a point read and a stat: a warm hit within milliseconds of
/// the start).
extension FileCache {
    /// Loads the index on a thread of its own; until it is done, lookups fall
    /// back to point reads and admissions wait (nothing is admitted). Throws
    /// `SystemError` when the thread cannot be started.
    public func startLoading(onError: @escaping @Sendable (Error) -> Void) throws {
        warming.store(true, ordering: .releasing)
        do {
            try loading.start(name: "cache-load") { [self] in
                do { try load() } catch { onError(error) }
                warming.store(false, ordering: .releasing)
            }
        } catch {
            warming.store(false, ordering: .releasing)
            throw error
        }
    }

    /// Waits for a load started by `startLoading` (before persisting at shutdown).
    public func waitUntilLoaded() { loading.wait() }

    /// Whether the index is still loading.
    public var isWarming: Bool { warming.load(ordering: .acquiring) }

    /// The stored entry for `site` + `path` while the index loads, checked as the
    /// load would (rules, TTL, stat) and mapped; not inserted (the load does that).
    func warmingLookup(site: String, path: String) -> CacheEntry? {
        guard let persistence, let r = try? persistence.entry(key: CacheKey.make(site: site, path: path)),
              r.kind == .file, r.size >= 0 else { return nil }
        guard case .usable(let entry) = check(r, site: site, path: path, now: Clock.monotonicNanos(),
                                              wallNow: Clock.wallNanos()) else { return nil }
        return mapLazily(entry, insert: false)
    }
}
