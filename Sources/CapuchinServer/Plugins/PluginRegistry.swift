/// Builds the enabled plugins in registration order, the static file handler last.
public enum PluginRegistry {
    /// Plugin names the configuration may mention even when this build lacks them.
    public static let knownNames = ["cache", "compression", "admin", "proxy", "static"]

    /// Instantiates every enabled factory with its section, then checks that each
    /// section had no unknown keys. Throws `ConfigError` for an unknown plugin
    /// name, or whatever a factory throws.
    public static func instantiate(_ factories: [PluginFactory], config: ServerConfig, log: ErrorLog,
                                   statistics: ServerStatistics) throws -> [any Plugin] {
        let registered = Set(factories.map(\.name) + ["static"])
        for name in config.pluginSwitches.keys.sorted() where !registered.contains(name) {
            if knownNames.contains(name) {
                log.warn("\(config.file): plugins.\(name): this build has no '\(name)' plugin; ignored")
            } else {
                throw ConfigError(file: config.file, line: nil, key: "plugins.\(name)",
                                  message: "unknown plugin (known: \(knownNames.joined(separator: ", ")))")
            }
        }
        if config.pluginSwitches["static"] == false {
            throw ConfigError(file: config.file, line: nil, key: "plugins.static", message: "the static file handler cannot be disabled")
        }
        var plugins: [any Plugin] = []
        let staticHandler = StaticFilePlugin()
        for f in factories where f.name != "static" {
            let section = config.section(for: f.name)
            guard config.pluginSwitches[f.name] ?? f.enabledByDefault else {
                if !section.isEmpty { log.info("plugin '\(f.name)' is disabled; its section is not used") }
                continue
            }
            do {
                plugins.append(try f.make(PluginSetup(section: section, config: config, log: log, statistics: statistics,
                                                       staticHandler: staticHandler)))
                try section.finish()
            } catch {
                // Let the plugins already built release what they hold (the cache's store writer).
                for p in plugins { p.serverStopped() }
                throw error
            }
        }
        plugins.append(staticHandler)
        // HSTS and the redirect to HTTPS, when configured: first, so a redirect answers before any handler.
        if let https = HTTPSPolicyPlugin(config: config) { plugins.insert(https, at: 0) }
        return plugins
    }
}
