import CapuchinSystem
import HTTPCore

/// Remembers answers that depend only on a short string seen on nearly every
/// request (an `Accept-Encoding` value, a content type): browsers send a
/// handful of distinct values, and parsing one costs more than the lookup of
/// a hit. A table per worker, so the workers never touch one lock's cache line
/// on a hit (a shared table's lock cost each hit more than the lookup itself);
/// callers without a worker share one more table. Bounded: past `limit`
/// values a table starts over.
final class NegotiationMemo<Value>: @unchecked Sendable { // safe: each table is only reached under its lock
    /// A worker's answers, and the last one asked (a client sends the same
    /// value on every request of its connection: compared before hashing).
    private struct Table {
        var last: (key: String, value: Value)?
        var answers: [String: Value] = [:]
    }

    /// Per worker, reached without a retain (see UnretainedReferences).
    private let tables: UnretainedReferences<Lock<Table>>
    private let limit: Int

    /// Workers numbered below `workers` get a table each; others share the last.
    init(limit: Int = 256, workers: Int = 64) {
        self.limit = limit
        tables = UnretainedReferences((0...workers).map { _ in Lock(Table(), isolated: true) })
    }

    func value(for key: String, worker: Int = -1, _ make: (String) -> Value) -> Value {
        tables.with(worker >= 0 && worker < tables.count - 1 ? worker : tables.count - 1) { value(for: key, in: $0, make) }
    }

    @inline(__always)
    private func value(for key: String, in table: Lock<Table>, _ make: (String) -> Value) -> Value {
        let known: Value? = table.withLock { t in
            if let last = t.last, last.key == key { return last.value }
            guard let v = t.answers[key] else { return nil }
            t.last = (key, v)
            return v
        }
        if let known { return known }
        let v = make(key)
        table.withLock { t in
            if t.answers.count >= limit { t.answers.removeAll(keepingCapacity: true) }
            t.answers[key] = v
            t.last = (key, v)
        }
        return v
    }
}
