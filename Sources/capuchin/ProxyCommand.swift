import ArgumentParser
import CapuchinServer
import CapuchinSystem
import Foundation
import ReverseProxy

/// `capuchin proxy`: a caching reverse proxy for one pool, configured from flags.
struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Proxy every request to a pool of backends, caching responses by RFC 9111, until SIGTERM or SIGINT.",
        discussion: """
        Example:
          capuchin proxy --port 8080 --to 127.0.0.1:9001 --to 127.0.0.1:9002 --balance round-robin --cache-dir /var/cache/capuchin
        For routes, several pools and timeouts use `capuchin serve --config` with a `proxy` section (docs/CONFIG.md).
        """
    )

    @Option(name: .long, help: ArgumentHelp("TCP port to listen on (0 picks a free port).", valueName: "port"))
    var port: Int = 8080

    @Option(name: .long, help: ArgumentHelp("Address to listen on.", valueName: "addr"))
    var listen: String = "0.0.0.0"

    @Option(name: .customLong("to"), help: ArgumentHelp("A backend host:port, or https://host:port for TLS to it (repeat for a pool; all plain or all https).", valueName: "host:port"))
    var backends: [String] = []

    @Option(name: .long, help: ArgumentHelp("naive, first-alive, round-robin, round-robin-locked, least-connections or consistent-hash (on the cache key, with bounded loads).", valueName: "algo"))
    var balance: String = "round-robin"

    @Option(name: .customLong("cache-dir"), help: ArgumentHelp("Directory of the persistent response cache (default ./capuchin-proxy-cache).", valueName: "dir"))
    var cacheDir: String?

    @Flag(name: .customLong("no-cache"), help: "Do not cache responses.")
    var noCache = false

    @Option(name: .customLong("node-id"), help: ArgumentHelp("This proxy's name in Via, for loop detection (default: the host name). Give each of several proxies on one host its own.", valueName: "name"))
    var nodeID: String?
    @OptionGroup var tls: TLSOptions

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("CA certificates (PEM) that https:// backends are verified against (default: the system store).", valueName: "file"))
    var caFile: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads (default: one per processor).", valueName: "n"))
    var workers: Int = 0

    @Option(name: .customLong("log-level"), help: ArgumentHelp("error, warn, info or debug.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        if backends.isEmpty { throw ValidationError("give at least one --to HOST:PORT") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0-65535") }
        if Set(backends.map { $0.hasPrefix("https://") }).count > 1 { throw ValidationError("--to: a pool is all https:// or all plain") }
    }

    /// Backends as the pool lists them (host:port), and whether the pool speaks TLS to them.
    var backendAddresses: (addresses: [String], tls: Bool) {
        let tls = backends.first?.hasPrefix("https://") ?? false
        return (backends.map { b in
            var a = Substring(b)
            for scheme in ["https://", "http://"] where a.hasPrefix(scheme) { a = a.dropFirst(scheme.count) }
            if a.hasSuffix("/") { a = a.dropLast() }
            return !tls || a.contains(":") ? String(a) : a + ":443"
        }, tls)
    }

    /// The configuration the flags stand for, as the YAML `serve --config` reads.
    /// Every path is proxied, so the file cache plugin is off (its lookup would
    /// only ever miss).
    func configText(cacheDirectory: String, siteRoot: String, cwd: String = FileManager.default.currentDirectoryPath) -> String {
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        let nodeLine = nodeID.map { "  node_id: \(quoted($0))\n" } ?? ""
        var y = """
        server:
          listen: \(quoted(listen))
          port: \(port)
          workers: \(workers)
        \(tls.certificate.map { "  tls: {cert: \(quoted(ConfigLoader.resolve($0, against: cwd))), key: \(quoted(ConfigLoader.resolve(tls.key ?? "", against: cwd)))}" } ?? "")
        sites:
          - root: \(quoted(siteRoot))
            default: true
        logging:
          level: \(quoted(logLevel))
        plugins:
          proxy: true
          cache: false
        proxy:
        \(nodeLine)  routes:
            - match: '^/'
              pool: default
          pools:
            default:
              balance: \(quoted(balance))

        """
        let (addresses, originTLS) = backendAddresses
        if originTLS {
            y += "      tls: true\n"
            if let caFile { y += "      ca_file: \(quoted(ConfigLoader.resolve(caFile, against: cwd)))\n" }
        }
        y += "      backends:\n"
        for b in addresses { y += "          - \(quoted(b))\n" }
        if !noCache { y += "  cache:\n    dir: \(quoted(cacheDirectory))\n" }
        return y
    }

    func run() throws {
        let log = ErrorLog()
        let cwd = FileManager.default.currentDirectoryPath
        let dir = ConfigLoader.resolve(cacheDir ?? "capuchin-proxy-cache", against: cwd)
        let root = dir + "/empty-site"
        try ServerLauncher.run(log: log) {
            try FileSystem.makeDirectories(root)
            let config = try ConfigLoader.parse(configText(cacheDirectory: dir, siteRoot: root), file: "command line")
            return try Server(config: config, factories: PluginCatalog.factories, log: log)
        }
    }
}
