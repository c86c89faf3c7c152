import CapuchinSystem
import CapuchinTLS
import HTTPCore

/// The HTTP server: listeners, worker threads, the fair acceptor, signals and
/// reload. `run()` blocks the calling thread until SIGTERM/SIGINT.
public final class Server {
    public private(set) var config: ServerConfig
    public let log: ErrorLog
    public let statistics: ServerStatistics
    public let plugins: [any Plugin]
    /// Re-reads the configuration on SIGHUP (main re-applies its command-line
    /// overrides); nil: SIGHUP only logs that there is nothing to reload.
    public var reloadSource: (() throws -> ServerConfig)?

    private let core: ServerCore
    private let workerCount: Int
    // [service] privilege drop after binding; sd_notify readiness (Service/).
    private let privileges: PrivilegeDrop
    private let notifier: ServiceNotifier
    /// Per entry of `config.listeners`, its certificates (nil: plain); loaded
    /// before privileges are dropped (keys are often readable by root only).
    private let tlsCertificates: [TLSCertificateStore?]

    /// Validates everything before any socket is bound: opens the sites' roots,
    /// builds the plugins (each validating its config section), raises the
    /// descriptor limit and opens the logs. Blocks SIGTERM/SIGINT/SIGHUP in this
    /// thread first so every thread created from here on inherits the mask.
    /// Throws `ConfigError` (bad configuration), `SystemError` (log files, limits)
    /// or whatever a plugin factory throws.
    public init(config: ServerConfig, factories: [PluginFactory], log: ErrorLog) throws {
        Signals.prepareProcess()
        self.config = config
        self.log = log
        log.setLevel(config.logLevel)
        let privileges = try PrivilegeDrop(config: config)   // [service]
        self.privileges = privileges
        try privileges.prepareStateDirectory(config: config)
        try privileges.asTarget { try log.open(destination: config.errorLog) }
        privileges.announce(config: config, log: log)
        notifier = ServiceNotifier(log: log)
        let settings = try RuntimeSettings.make(config)
        tlsCertificates = try zip(config.listeners, TLSCertificateLoader.load(config)).map { l, certificates in
            certificates.map { TLSCertificateStore($0, kernelTransmit: KernelTLS.transmit(wanted: l.tls?.kernelTLS ?? false)) }
        }
        workerCount = config.effectiveWorkers(processors: SystemThread.processorCount)
        statistics = ServerStatistics(workerCount: workerCount, startedNanos: Clock.wallNanos())
        let limit = try ResourceLimits.raiseOpenFiles(to: config.maxConnections + 1024)
        if limit < config.maxConnections + 64 {
            log.warn("descriptor limit \(limit) is below max_connections \(config.maxConnections); connections past it are refused")
        }
        // [service] created as server.user: the store and logs belong to it.
        let counters = statistics
        plugins = try privileges.asTarget { try PluginRegistry.instantiate(factories, config: config, log: log, statistics: counters) }
        let accessLog = try privileges.asTarget { try AccessLogWriter.make(config: config, log: log) }
        core = ServerCore(plugins: plugins, config: config, log: log, settings: SettingsStore(settings), statistics: statistics,
                          accessLog: accessLog, parser: RequestParser())
    }

    /// Binds the listeners, starts the workers and waits for signals: SIGHUP
    /// reloads, SIGTERM/SIGINT drain and stop. Returns when every worker has
    /// stopped. Throws `SystemError` when a listener cannot be bound or a thread started.
    public func run() throws {
        let mailboxes = try statistics.workers.map { try WorkerMailbox(counters: $0) }
        var perWorker = [[Worker.Listener]](repeating: [], count: workerCount)
        // Plugins' own listeners (admin) get a loop thread of their own: their
        // O(N) work (stats, entry listings) never runs on a serving thread.
        var pluginListeners: [Worker.Listener] = []
        var acceptorListeners: [Worker.Listener] = []
        var bound: [String] = []
        do {
            for (i, listener) in config.listeners.enumerated() {
                var port = listener.port
                let tls = tlsCertificates[i]
                switch config.balance {
                case .reuseport:
                    for w in 0..<workerCount {
                        let fd = try Socket.listen(host: listener.address, port: port, reusePort: true)
                        if port == 0 { port = Socket.localPort(of: fd) }
                        perWorker[w].append(.init(fd: fd, port: port, tls: tls))
                    }
                case .shared:
                    // A descriptor of its own per worker (each closes its own) for one socket.
                    let fd = try Socket.listen(host: listener.address, port: port, reusePort: false)
                    if port == 0 { port = Socket.localPort(of: fd) }
                    perWorker[0].append(.init(fd: fd, port: port, tls: tls, exclusive: true))
                    for w in 1..<max(1, workerCount) {
                        perWorker[w].append(.init(fd: try FileIO.duplicate(fd), port: port, tls: tls, exclusive: true))
                    }
                case .fair:
                    let fd = try Socket.listen(host: listener.address, port: port, reusePort: false)
                    if port == 0 { port = Socket.localPort(of: fd) }
                    acceptorListeners.append(.init(fd: fd, port: port, tls: tls))
                }
                bound.append("\(listener.address):\(port)" + (tls != nil ? " (TLS)" : ""))
                if let tls {
                    let mode = KernelTLS.modeDescription(wanted: listener.tls?.kernelTLS ?? false)
                    log.info("TLS on \(listener.address):\(port): \(TLSLibrary.version), \(mode), certificate \(tls.certificates.defaultContext.certificateFile), \(tls.certificates.named.count) SNI name(s)")
                }
            }
            for (i, p) in plugins.enumerated() {
                for spec in p.extraListeners(config: config) {
                    let fd = try Socket.listen(host: spec.host, port: spec.port, reusePort: false)
                    let actual = Socket.localPort(of: fd)
                    pluginListeners.append(.init(fd: fd, port: actual, pluginIndex: i))
                    log.info("plugin '\(spec.pluginName)' listening on \(spec.host):\(actual)")
                }
            }
            try privileges.dropPermanently(log: log)   // [service] listeners bound: run as server.user
        } catch {
            for l in perWorker.flatMap({ $0 }) + acceptorListeners + pluginListeners { FileIO.close(l.fd) }
            throw error
        }

        var workers = try (0..<workerCount).map { try Worker(id: $0, core: core, mailbox: mailboxes[$0], listeners: perWorker[$0]) }
        var wakeUps = mailboxes
        if !pluginListeners.isEmpty {
            let mailbox = try WorkerMailbox(counters: statistics.pluginListenerLoop)
            wakeUps.append(mailbox)
            workers.append(try Worker(id: workerCount, core: core, mailbox: mailbox, listeners: pluginListeners, serving: false))
        }
        let threads = try workers.map { w in try SystemThread(name: w.serving ? "worker-\(w.id)" : "plugin-listeners") { w.run() } }
        var acceptor: Acceptor?
        var acceptorThread: SystemThread?
        if !acceptorListeners.isEmpty {
            let a = try Acceptor(listeners: acceptorListeners, mailboxes: mailboxes, log: log)
            acceptor = a
            acceptorThread = try SystemThread(name: "acceptor") { a.run() }
        }
        log.info("capuchin listening on \(bound.joined(separator: ", ")) (\(workerCount) workers, balance \(config.balance.rawValue), pid \(ProcessIdentity.id))")
        notifier.ready(status: "listening on \(bound.joined(separator: ", "))")   // [service]

        while true {
            let sig = Signals.wait()
            if sig == Signals.hangup {
                notifier.reloading()   // [service]
                reload()
                notifier.ready(status: "reloaded")
                continue
            }
            if sig == Signals.userDefined1 { LogReopener.reopen(errorLog: log, destination: config.errorLog, accessLog: core.accessLog); continue }   // [service]
            notifier.stopping()   // [service]
            log.info("received signal \(sig): draining (up to \(config.drainTimeout)s)")
            break
        }
        core.stopping.store(true, ordering: .relaxed)
        acceptor?.requestStop()
        acceptorThread?.join()
        for m in wakeUps { m.wake.signal() }
        for t in threads { t.join() }
        for p in plugins { p.serverStopped() }
        core.accessLog?.stop()
        log.info("stopped")
    }

    /// Listeners as far as a reload cannot change them (addresses, ports, TLS or not, kernel TLS or not).
    private static func describe(_ listeners: [ListenerConfig]) -> String {
        listeners.map { "\($0.address):\($0.port)\($0.tls.map { $0.kernelTLS ? "+tls" : "+tls(ktls: off)" } ?? "")" }.joined(separator: ",")
    }

    /// Asks a running server to drain and stop, as SIGTERM does.
    public func stop() { Signals.raiseInProcess(Signals.terminate) }

    /// Re-reads the configuration and applies what can change live (sites, MIME
    /// overrides, log level, timeouts and limits); logs anything that needs a
    /// restart. A bad new configuration is logged and the old one kept.
    public func reload() {
        guard let source = reloadSource else {
            log.warn("SIGHUP: started without a configuration file; nothing to reload")
            return
        }
        do {
            let new = try source()
            let settings = try RuntimeSettings.make(new)
            for (name, old, now) in [("server.listen", config.listenAddress, new.listenAddress),
                                     ("listeners", Self.describe(config.listeners), Self.describe(new.listeners)),
                                     ("server.port", "\(config.port)", "\(new.port)"),
                                     ("server.workers", "\(config.workers)", "\(new.workers)"),
                                     ("server.balance", config.balance.rawValue, new.balance.rawValue),
                                     ("server.state_dir", config.stateDir, new.stateDir),
                                     ("logging.access_log", config.accessLog ?? "off", new.accessLog ?? "off"),
                                     // [service] fixed at start: the drop, the log writer's files and format
                                     ("server.user", config.user ?? "-", new.user ?? "-"), ("server.group", config.group ?? "-", new.group ?? "-"),
                                     ("logging.access_log_format", config.accessLogFormat.rawValue, new.accessLogFormat.rawValue),
                                     ("sites[].access_log", "\(Set(config.sites.compactMap(\.accessLog)).sorted())", "\(Set(new.sites.compactMap(\.accessLog)).sorted())"),
                                     ("plugins", "\(config.pluginSwitches.sorted { $0.key < $1.key })", "\(new.pluginSwitches.sorted { $0.key < $1.key })")]
            where old != now {
                log.warn("reload: \(name) changed (\(old) -> \(now)); not reloadable, restart to apply")
            }
            if !new.pluginSections.values.allSatisfy(\.isEmpty) {
                log.info("reload: plugin sections (cache, admin, proxy) are read at start-up only")
            }
            if new.errorLog != config.errorLog { try log.open(destination: new.errorLog) }
            log.setLevel(new.logLevel)
            core.settings.publish(settings)
            var stores: [String: TLSCertificateStore] = [:]
            for (l, store) in zip(config.listeners, tlsCertificates) { if let store { stores[l.configKey] = store } }
            TLSCertificateLoader.reload(new, stores: stores, log: log)
            config = new
            log.info("reloaded \(new.file): \(new.sites.count) site(s), log level \(new.logLevel.name)")
        } catch {
            log.error("reload failed, keeping the running configuration: \(error)")
        }
    }
}
