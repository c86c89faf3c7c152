import CapuchinServer
import CapuchinSystem

/// One worker's keep-alive connections to backends, idle between requests.
/// It is their handler while idle: a backend that closes one (seen at once:
/// read hang-up is in the interest set) or sends anything unasked gets it
/// dropped, and one idle for the pool's `keepalive_timeout` is closed by us
/// before the origin's own timeout can race a reuse. Worker-thread only.
final class IdleConnections: OutboundHandler {
    /// Idle connections kept per backend.
    static let maxPerBackend = 32

    private var idle: [String: [OutboundConnection]] = [:]
    private let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

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

    /// Keeps `c` for reuse for at most `keepaliveNanos` (closes it at once when
    /// the backend's list is full or the timeout is 0).
    func put(_ c: OutboundConnection, pool: String, backend: Int, now: UInt64, keepaliveNanos: UInt64) {
        let k = Self.key(pool: pool, backend: backend)
        guard !c.isClosed, keepaliveNanos > 0, (idle[k]?.count ?? 0) < Self.maxPerBackend else { c.close(); return }
        c.handler = self
        c.lastUsedNanos = now
        c.resumeReading()
        idle[k, default: []].append(c)
        loop.schedule(after: keepaliveNanos) { [weak self, weak c] in
            // Still idle since this put (not reused and put back meanwhile): close it.
            guard let self, let c, !c.isClosed, c.lastUsedNanos == now, c.handler === self else { return }
            self.drop(c)
        }
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
