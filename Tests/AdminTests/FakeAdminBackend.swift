@testable import Admin
import CapuchinSystem

/// An in-memory backend: a dictionary of entries and counters the test moves.
final class FakeAdminBackend: AdminBackend, Sendable {
    let state = Lock<(server: ServerFigures, cache: CacheFigures, rows: [String: EntryRow])>((ServerFigures(), CacheFigures(), [:]))

    func add(_ key: String, size: Int, hits: UInt64) {
        state.withLock { $0.rows[key] = EntryRow(key: key, size: size, hits: hits, insertedMillis: 1000, lastAccessMillis: Int64(hits)) }
    }

    func serverFigures() -> ServerFigures { state.withLock { $0.server } }
    func cacheFigures() -> CacheFigures? {
        state.withLock { s in
            var c = s.cache
            c.entries = s.rows.count
            c.bytesHeld = s.rows.values.reduce(0) { $0 + $1.size }
            return c
        }
    }
    func storeFigures() -> StoreFigures? { var s = StoreFigures(); s.schemaVersion = 1; return s }

    func entries(prefix: String?, sort: EntrySort, limit: Int, offset: Int) -> (rows: [EntryRow], total: Int) {
        state.withLock { s in
            var rows = s.rows.values.filter { prefix == nil || $0.key.hasPrefix(prefix!) }
            switch sort {
            case .hits: rows.sort { ($0.hits, $1.key) > ($1.hits, $0.key) }
            case .size: rows.sort { $0.size > $1.size }
            case .age: rows.sort { $0.insertedMillis < $1.insertedMillis }
            case .recent: rows.sort { $0.lastAccessMillis > $1.lastAccessMillis }
            case .key: rows.sort { $0.key < $1.key }
            }
            return (Array(rows.dropFirst(offset).prefix(limit)), rows.count)
        }
    }

    func purge(key: String) -> Int { state.withLock { $0.rows.removeValue(forKey: key) == nil ? 0 : 1 } }
    func purge(prefix: String) -> Int {
        state.withLock { s in
            let keys = s.rows.keys.filter { $0.hasPrefix(prefix) }
            keys.forEach { s.rows.removeValue(forKey: $0) }
            return keys.count
        }
    }
    func clear() -> Int { state.withLock { s in defer { s.rows.removeAll() }; return s.rows.count } }

    /// What the tag and soft purges were called with, in order.
    let purgeCalls = Lock<[String]>([])
    struct IndexUnreadable: Error {}

    /// Removes nothing; the tag "broken" fails as an unreadable index does.
    func purge(tags: [String], soft: Bool) throws -> Int {
        if tags.contains("broken") { throw IndexUnreadable() }
        purgeCalls.withLock { $0.append("tags \(tags) soft \(soft)") }
        return tags.count
    }
    func softPurge(key: String) -> Int { purgeCalls.withLock { $0.append("soft key \(key)") }; return 1 }
    func softPurge(prefix: String) -> Int { purgeCalls.withLock { $0.append("soft prefix \(prefix)") }; return 2 }
}
