/// What a plugin factory receives: its own config section to validate (every
/// key it does not read is an error once it returns), the whole server
/// configuration, the error log, the server's counters and the static
/// handler, beneath which a plugin may put its own file source.
public struct PluginSetup {
    public let section: ConfigSection
    public let config: ServerConfig
    public let log: ErrorLog
    public let statistics: ServerStatistics
    let staticHandler: StaticFilePlugin

    public init(section: ConfigSection, config: ServerConfig, log: ErrorLog, statistics: ServerStatistics,
                staticHandler: StaticFilePlugin = StaticFilePlugin()) {
        self.section = section
        self.config = config
        self.log = log
        self.statistics = statistics
        self.staticHandler = staticHandler
    }

    /// Makes the static handler take its files from `source` (the file cache
    /// does, around a `DirectFileSource`); the last plugin to call it wins.
    public func serveFiles(from source: any FileSource) { staticHandler.install(source) }

    /// The source installed so far (a plugin may put its own around it: compression does).
    public var fileSource: any FileSource { staticHandler.source }
}

/// How `capuchin`'s main registers a plugin that exists in this build.
public struct PluginFactory {
    public let name: String
    /// Whether it runs when the config's `plugins` section does not mention it.
    public let enabledByDefault: Bool
    /// Builds the plugin. Throws `ConfigError` for a bad section value (use
    /// `setup.section.error(key, message)`), or any error that should stop start-up.
    public let make: (PluginSetup) throws -> any Plugin

    public init(name: String, enabledByDefault: Bool, make: @escaping (PluginSetup) throws -> any Plugin) {
        self.name = name
        self.enabledByDefault = enabledByDefault
        self.make = make
    }
}
