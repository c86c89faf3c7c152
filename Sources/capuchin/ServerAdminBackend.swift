import Admin
import CacheStore
import CapuchinServer
import CapuchinSystem
import CapuchinTLS
import FileCache
import ReverseProxy

/// Holds the file cache once its plugin is built, for the admin backend.
final class FileCacheLink: @unchecked Sendable { // safe: both set once while the server starts, before any worker or admin request reads them
    var cache: FileCache?
    /// The proxy plugin, whose stored responses purges reach too.
    var proxy: ProxyPlugin?
    /// The compressing file source, whose counters the stats show.
    var compression: CompressingFileSource?
}

/// Feeds the admin plugin from the workers' counters, the file cache and its store.
final class ServerAdminBackend: AdminBackend, Sendable {
    let statistics: ServerStatistics
    let link: FileCacheLink
    /// The configuration has a TLS listener (the stats then carry its counters).
    let servesTLS: Bool

    init(statistics: ServerStatistics, link: FileCacheLink, servesTLS: Bool = false) {
        self.statistics = statistics
        self.link = link
        self.servesTLS = servesTLS
    }

    func serverFigures() -> ServerFigures {
        let s = statistics.snapshot()
        var f = ServerFigures()
        f.requests = s.requests
        f.bytesServed = s.bytesServed
        f.connectionsPerWorker = s.connectionsPerWorker
        if servesTLS { f.tls = statistics.tls.snapshot() }
        let upstream = TLSClientContext.counters.snapshot()
        if upstream.handshakes + upstream.failureTotal > 0 { f.upstreamTLS = upstream }
        return f
    }

    /// The static files' and the proxy cache's compression counters, summed.
    func compressionFigures() -> CompressionFigures? {
        let all = [link.compression?.stats, link.proxy?.compressionStats].compactMap { $0 }
        guard !all.isEmpty else { return nil }
        var f = CompressionFigures()
        for s in all {
            f.variantsStored += s.variantsStored
            f.bytesBefore += s.bytesBefore
            f.bytesAfter += s.bytesAfter
            f.compressions += s.compressions
            f.compressionCPUSeconds += Double(s.compressionCPUNanos) / 1e9
            f.variantHits += s.variantHits
            f.siblingHits += s.siblingHits
            f.bytesSaved += s.bytesSaved
        }
        return f
    }

    func cacheFigures() -> CacheFigures? {
        guard let s = link.cache?.stats() else { return nil }
        var f = CacheFigures()
        f.hits = s.hits
        f.misses = s.misses
        f.bytesServedFromCache = s.bytesServed
        f.evictions = s.evictions
        f.admissions = s.admissions
        f.rejectionsByRule = s.rejectionsByRule
        f.revalidations = s.revalidations
        f.staleDrops = s.staleDrops
        f.entries = s.entries
        f.bytesHeld = s.bytes
        f.capacityBytes = s.capacityBytes
        f.capacityEntries = s.capacityEntries
        if let slabs = link.cache?.slabStatistics {
            f.slabBytesMapped = slabs.pageBytes
            f.slabBytesInSlots = slabs.slotBytes
            f.slabBytesRequested = slabs.requestedBytes
        }
        return f
    }

    func storeFigures() -> StoreFigures? {
        guard let store = (link.cache?.persistence as? StorePersistence)?.store, let s = try? store.stats() else { return nil }
        var f = StoreFigures()
        f.entries = s.entries
        f.mapSizeBytes = s.mapSize
        f.mapUsedBytes = s.mapUsed
        f.lastCommitNanos = s.lastCommitNanos
        f.schemaVersion = Int(s.schemaVersion)
        return f
    }

    func entries(prefix: String?, sort: EntrySort, limit: Int, offset: Int) -> (rows: [EntryRow], total: Int) {
        guard let cache = link.cache, let order = CacheEntrySort(rawValue: sort.rawValue) else { return ([], 0) }
        let page = cache.entries(prefix: prefix, sort: order, limit: limit, offset: offset)
        return (page.rows.map { EntryRow(key: $0.key, size: $0.size, hits: $0.hits, insertedMillis: $0.insertedAtNanos / 1_000_000,
                                         lastAccessMillis: $0.lastAccessNanos / 1_000_000) }, page.total)
    }

    func purge(key: String) -> Int {
        (link.cache?.purge(key: key) == nil ? 0 : 1) + (link.proxy?.purgeCache(key: key) ?? 0)
    }
    func purge(prefix: String) -> Int {
        (link.cache?.purge(prefix: prefix).count ?? 0) + (link.proxy?.purgeCache(prefix: prefix) ?? 0)
    }
    func clear() -> Int { (link.cache?.clear() ?? 0) + (link.proxy?.clearCache() ?? 0) }
    // Tags and soft purge concern the proxy cache only.
    func purge(tags: [String], soft: Bool) throws -> Int { try link.proxy?.purgeCache(tags: tags, soft: soft) ?? 0 }
    func softPurge(key: String) -> Int { link.proxy?.purgeCache(key: key, soft: true) ?? 0 }
    func softPurge(prefix: String) -> Int { link.proxy?.purgeCache(prefix: prefix, soft: true) ?? 0 }

    func backendFigures() -> [BackendFigures] {
        guard let proxy = link.proxy else { return [] }
        let now = Clock.monotonicNanos()
        return proxy.backendStates().map { pool, b, checked in
            let down = b.downUntilNanos > now ? Double(b.downUntilNanos - now) / 1e9 : 0
            return BackendFigures(pool: pool, backend: b.address.description, up: b.isAlive(at: now),
                                  healthy: checked ? b.isHealthy : nil, downForSeconds: down, inFlight: b.inFlight,
                                  checksPassed: b.checksPassed, checksFailed: b.checksFailed)
        }
    }
}
