import Admin
import CapuchinServer

/// Feeds the admin plugin from the workers' counters (and, once registered,
/// the file cache and its store).
final class ServerAdminBackend: AdminBackend, @unchecked Sendable {
    let statistics: ServerStatistics

    init(statistics: ServerStatistics) {
        self.statistics = statistics
    }

    func serverFigures() -> ServerFigures {
        let s = statistics.snapshot()
        var f = ServerFigures()
        f.requests = s.requests
        f.bytesServed = s.bytesServed
        f.connectionsPerWorker = s.connectionsPerWorker
        return f
    }

    func cacheFigures() -> CacheFigures? { nil }
    func storeFigures() -> StoreFigures? { nil }
    func entries(prefix: String?, sort: EntrySort, limit: Int, offset: Int) -> (rows: [EntryRow], total: Int) { ([], 0) }
    func purge(key: String) -> Int { 0 }
    func purge(prefix: String) -> Int { 0 }
    func clear() -> Int { 0 }
}
