import CapuchinServer
import HTTPCore

/// The proxy's state on one worker thread: its loop and idle backend
/// connections. No locks: only that thread touches it.
final class ProxyWorker {
    let loop: EventLoop
    let idle = IdleConnections()
    unowned let plugin: ProxyPlugin

    init(loop: EventLoop, plugin: ProxyPlugin) {
        self.loop = loop
        self.plugin = plugin
    }

    func log(_ message: @autoclosure () -> String) { plugin.log.debug(message()) }

    /// An unsafe method succeeded: stored responses for its target are stale.
    func invalidate(_ request: HTTPRequest) {
        plugin.cache?.store.invalidate(primary: HTTPCacheRules.primaryKey(for: request))
    }
}
