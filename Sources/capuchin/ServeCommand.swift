import ArgumentParser
import CapuchinServer

/// `capuchin serve`: run the server in the foreground until SIGTERM/SIGINT.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve files over HTTP/1.1 until SIGTERM or SIGINT (SIGHUP reloads the configuration).",
        discussion: """
        Either --config FILE (see docs/CONFIG.md) or --root DIR is needed. Flags override the file.
        Examples:
          capuchin serve --root ./public --port 8080
          capuchin serve --config /etc/capuchin.yaml --workers 4 --log-level debug
        """
    )

    @Option(name: .long, help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("TCP port to listen on (default 8080; 0 picks a free port).", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("Serve this directory as the only (default) site.", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads (default: one per processor).", valueName: "n"))
    var workers: Int?

    @Option(name: .long, help: ArgumentHelp("How connections are spread over workers: reuseport (the default), shared or fair.", valueName: "mode"))
    var balance: String?

    @Option(name: .customLong("cache-dir"), help: ArgumentHelp("Directory of the persistent file cache (sets cache.dir).", valueName: "dir"))
    var cacheDir: String?

    @Flag(name: .customLong("no-cache"), help: "Disable the file cache plugin.")
    var noCache = false

    @Option(name: .customLong("admin-port"), help: ArgumentHelp("Enable the admin API on 127.0.0.1:<port> (sets admin.port).", valueName: "port"))
    var adminPort: Int?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("error, warn, info or debug.", valueName: "level"))
    var logLevel: String?

    @OptionGroup var tls: TLSOptions

    @Flag(name: .long, help: "Validate the configuration as `capuchin check` does and exit (0 or 2) without serving.")
    var check = false

    func validate() throws {
        if config == nil && root == nil { throw ValidationError("give --config FILE or --root DIR") }
        if check && config == nil { throw ValidationError("--check needs --config FILE") }
        if let balance, BalanceMode(rawValue: balance) == nil { throw ValidationError("--balance must be reuseport, shared or fair") }
        if let logLevel, LogLevel(name: logLevel) == nil { throw ValidationError("--log-level must be error, warn, info or debug") }
    }

    func run() throws {
        var overrides = ConfigOverrides()
        overrides.port = port
        overrides.root = root
        overrides.workers = workers
        overrides.balance = balance.flatMap(BalanceMode.init(rawValue:))
        overrides.cacheDir = cacheDir
        overrides.noCache = noCache
        overrides.adminPort = adminPort
        overrides.logLevel = logLevel.flatMap(LogLevel.init(name:))
        overrides.tlsCertificate = tls.certificate
        overrides.tlsKey = tls.key
        if check, let config {
            throw ExitCode(CheckCommand.report(ConfigCheck.run(path: config, overrides: overrides, plugins: PluginCatalog.validators), file: config))
        }
        let configPath = config
        let load = { () throws -> ServerConfig in
            var c = try configPath.map(ConfigLoader.loadReportingAll(path:)) ?? ServerConfig()
            try overrides.apply(to: &c)
            return c
        }
        let log = ErrorLog()
        try ServerLauncher.run(log: log) {
            let server = try Server(config: try load(), factories: PluginCatalog.factories, log: log)
            if configPath != nil { server.reloadSource = load }
            return server
        }
    }
}
