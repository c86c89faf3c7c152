import CapuchinSystem
import HTTPCore
import Synchronization

/// State shared by all workers: immutable after start, apart from atomics.
final class ServerCore: @unchecked Sendable {
    let plugins: [any Plugin]
    /// The plugins that see requests on the public listeners: those owning a
    /// listener of their own (admin) see only that listener's requests.
    let publicPlugins: [any Plugin]
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
        self.publicPlugins = plugins.filter { $0.extraListeners(config: config).isEmpty }
        self.log = log
        self.settings = settings
        self.statistics = statistics
        self.accessLog = accessLog
        self.parser = parser
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
