import CapuchinSystem
import HTTPCore
import Synchronization

/// State shared by all workers: immutable after start, apart from atomics.
final class ServerCore: @unchecked Sendable {
    let plugins: [any Plugin]
    /// Requests on the public listeners: every plugin but those owning a
    /// listener of their own (admin), which see only that listener's requests.
    let publicPipeline: RequestPipeline
    /// Per plugin index, the pipeline of that plugin's own listeners.
    private let listenerPipelines: [Int: RequestPipeline]
    let log: ErrorLog
    let settings: SettingsStore
    let statistics: ServerStatistics
    let accessLog: AccessLogWriter?
    let parser: RequestParser
    /// Connections open across all workers (checked against max_connections on accept).
    let openConnections = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)

    init(plugins: [any Plugin], config: ServerConfig, log: ErrorLog, settings: SettingsStore, statistics: ServerStatistics,
         accessLog: AccessLogWriter?, parser: RequestParser) {
        self.plugins = plugins
        var owned: [Int: RequestPipeline] = [:]
        for (i, p) in plugins.enumerated() where !p.extraListeners(config: config).isEmpty {
            owned[i] = RequestPipeline(requestPlugins: [p], connectionPlugins: plugins, selectsSiteByHost: false)
        }
        publicPipeline = RequestPipeline(requestPlugins: plugins.filter { $0.extraListeners(config: config).isEmpty },
                                         connectionPlugins: plugins, selectsSiteByHost: true)
        listenerPipelines = owned
        self.log = log
        self.settings = settings
        self.statistics = statistics
        self.accessLog = accessLog
        self.parser = parser
    }

    /// The pipeline for connections from a listener (`pluginIndex` nil: a public one).
    func pipeline(forListenerOf pluginIndex: Int?) -> RequestPipeline {
        guard let i = pluginIndex, let p = listenerPipelines[i] else { return publicPipeline }
        return p
    }

    /// The reply to a connection past max_connections (written best-effort, then closed).
    static let refusal: [UInt8] = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nRetry-After: 1\r\nConnection: close\r\n\r\nserver at capacity.\n".utf8)

    /// Takes a connection slot; false (and nothing taken) when at the cap.
    func reserveConnectionSlot(max: Int) -> Bool {
        let n = openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        if n > max {
            openConnections.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseConnectionSlot() { openConnections.wrappingSubtract(1, ordering: .relaxed) }

    /// Best-effort 503 and close for a connection over the cap.
    func refuse(_ fd: Int32) {
        Self.refusal.withUnsafeBytes { _ = try? Socket.send(fd, $0) }
        Socket.shutdownWrite(fd)
        FileIO.close(fd)
    }
}
