import CapuchinServer
import HTTPCore

/// The proxy's state on one worker thread: its loop, idle backend
/// connections and streaming waiters. No locks: only that thread touches it.
final class ProxyWorker {
    let loop: EventLoop
    let idle: IdleConnections
    /// The coalesced waiters streaming on this worker, fed in turns.
    let waiterTurns: WaiterTurns
    /// The pools' active health checks (worker 0 only).
    var healthCheckers: [HealthChecker] = []
    unowned let plugin: ProxyPlugin

    init(loop: EventLoop, plugin: ProxyPlugin) {
        self.loop = loop
        idle = IdleConnections(loop: loop)
        waiterTurns = WaiterTurns(post: { [poster = loop.poster] in poster.post($0) })
        self.plugin = plugin
    }

    func log(_ message: @autoclosure () -> String) { plugin.log.debug(message()) }

    /// An unsafe method succeeded: stored responses for its target are stale,
    /// whichever scheme stored them (the same resource behind both listeners).
    func invalidate(_ request: HTTPRequest) {
        guard let store = plugin.cache?.store else { return }
        for scheme in ["http", "https"] { store.invalidate(primary: plugin.config.cache.key.primary(for: request, scheme: scheme)) }
    }
}
