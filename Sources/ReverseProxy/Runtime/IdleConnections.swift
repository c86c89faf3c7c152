import CapuchinServer
import CapuchinSystem

/// One worker's keep-alive connections to backends, idle between requests.
/// It is their handler while idle: a backend that closes one or sends
/// anything unasked gets it dropped. Worker-thread only.
final class IdleConnections: OutboundHandler {
    /// Idle connections kept per backend.
    static let maxPerBackend = 32

    private var idle: [String: [OutboundConnection]] = [:]

    static func key(pool: String, backend: Int) -> String { "\(pool)#\(backend)" }

    /// A connection idle for less than `maxIdleNanos`, most recently used first.
    func take(pool: String, backend: Int, now: UInt64, maxIdleNanos: UInt64) -> OutboundConnection? {
        let k = Self.key(pool: pool, backend: backend)
        while var list = idle[k], let c = list.popLast() {
            idle[k] = list
            if !c.isClosed && now &- c.lastUsedNanos < maxIdleNanos { return c }
            c.close()
        }
        return nil
    }

    /// Keeps `c` for reuse (closes it when the backend's list is full).
    func put(_ c: OutboundConnection, pool: String, backend: Int, now: UInt64) {
        let k = Self.key(pool: pool, backend: backend)
        guard !c.isClosed, (idle[k]?.count ?? 0) < Self.maxPerBackend else { c.close(); return }
        c.handler = self
        c.lastUsedNanos = now
        c.resumeReading()
        idle[k, default: []].append(c)
    }

    /// Closes every idle connection (worker stopping).
    func closeAll() {
        for list in idle.values { for c in list { c.close() } }
        idle = [:]
    }

    private func drop(_ c: OutboundConnection) {
        for (k, list) in idle where list.contains(where: { $0 === c }) {
            idle[k] = list.filter { $0 !== c }
        }
        c.close()
    }

    func outboundConnected(_ connection: OutboundConnection) {}
    func outboundReadable(_ connection: OutboundConnection, _ bytes: UnsafeRawBufferPointer) { drop(connection) }
    func outboundWritable(_ connection: OutboundConnection) {}
    func outboundClosed(_ connection: OutboundConnection, error: SystemError?) { drop(connection) }
}
