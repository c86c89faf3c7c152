import CapuchinSystem
import HTTPCore

/// Remembers answers that depend only on a short string seen on nearly every
/// request (an `Accept-Encoding` value, a content type): browsers send a
/// handful of distinct values, and parsing one costs more than the lookup of
/// a hit. Bounded: past `limit` values it starts over.
final class NegotiationMemo<Value>: @unchecked Sendable { // safe: the table is only reached under its lock
    private let table = Lock<[String: Value]>([:])
    private let limit: Int

    init(limit: Int = 256) { self.limit = limit }

    func value(for key: String, _ make: (String) -> Value) -> Value {
        if let v = table.withLock({ $0[key] }) { return v }
        let v = make(key)
        table.withLock { t in
            if t.count >= limit { t.removeAll(keepingCapacity: true) }
            t[key] = v
        }
        return v
    }
}
