import CapuchinServer
import CapuchinSystem
import Foundation
import HTTPCore

/// The admin plugin: the dashboard, the JSON API and /metrics on a listener of
/// its own (127.0.0.1 by default), never on the public port.
public final class AdminPlugin: Plugin, Sendable {
    public let name = "admin"
    let settings: AdminSettings
    let router: AdminRouter
    private let sampler: RateSampler

    /// Throws when the settings are invalid (see `AdminSettings.init(section:)`).
    public init(settings: AdminSettings, backend: AdminBackend) {
        self.settings = settings
        let rates = RequestRateTracker()
        let chart = FileManager.default.contents(atPath: settings.chartJSPath).map { Array($0) }
        router = AdminRouter(backend: backend, token: settings.token, rates: rates, chartJS: chart)
        sampler = RateSampler(rates: rates) { backend.serverFigures().requests }
    }

    /// The factory `capuchin` registers: reads the `admin` section, then asks
    /// `makeBackend` for the data source. Throws `ConfigError` for a bad section.
    public static func factory(makeBackend: @escaping (PluginSetup) throws -> AdminBackend) -> PluginFactory {
        PluginFactory(name: "admin", enabledByDefault: false) { setup in
            let settings = try AdminSettings(section: setup.section)
            let plugin = AdminPlugin(settings: settings, backend: try makeBackend(setup))
            if plugin.router.chartJS == nil {
                setup.log.info("admin: \(settings.chartJSPath) not found; the dashboard shows numbers without charts (apt-get install libjs-chart.js)")
            }
            return plugin
        }
    }

    public func extraListeners(config: ServerConfig) -> [ListenerSpec] {
        [ListenerSpec(host: settings.bind, port: settings.port, pluginName: name)]
    }

    public func workerStarted(workerID: Int) {
        if workerID == 0 { sampler.start() }
    }

    public func serverStopped() { sampler.stop() }

    public var phases: PluginPhases { .handle }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
        let reply = router.respond(method: request.method, path: request.path, query: request.query,
                                   authorization: request.headers["Authorization"])
        var headers = HTTPHeaders()
        headers.add("Content-Type", reply.contentType)
        for (n, v) in reply.headers { headers.add(n, v) }
        return .respond(Response(status: reply.status, headers: headers, body: .bytes(reply.body)))
    }
}

/// Samples the request counter once a second for the rate windows.
final class RateSampler: @unchecked Sendable { // safe: `running` and `thread` only under `lock`; `read` sums atomic counters
    private let rates: RequestRateTracker
    private let read: () -> UInt64
    private let lock = NSCondition()
    private var running = false
    private var thread: SystemThread?

    init(rates: RequestRateTracker, read: @escaping () -> UInt64) {
        self.rates = rates
        self.read = read
    }

    func start() {
        lock.lock(); defer { lock.unlock() }
        guard !running else { return }
        running = true
        // Without a thread (pthread_create failed) the rates stay empty; serving goes on.
        thread = try? SystemThread(name: "admin-sampler") { [self] in loop() }
    }

    func stop() {
        lock.lock()
        running = false
        lock.broadcast()
        lock.unlock()
    }

    private func loop() {
        let clock = ContinuousClock()
        let origin = clock.now
        lock.lock()
        while running {
            let d = clock.now - origin
            let nanos = UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
            rates.record(count: read(), nanos: nanos)
            _ = lock.wait(until: Date().addingTimeInterval(1))
        }
        lock.unlock()
    }
}
