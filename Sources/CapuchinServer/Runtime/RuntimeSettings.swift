import HTTPCore

/// The reloadable part of the configuration as workers see it: one immutable
/// snapshot, replaced as a whole on SIGHUP.
public final class RuntimeSettings: @unchecked Sendable { // safe: immutable after init; ServerConfig is a plain value (not declared Sendable: it keeps the YAML plugin sections) never mutated after load
    public let config: ServerConfig
    public let sites: SiteTable
    /// HTTPCore's table with the configuration's `mime` overrides applied.
    public let mime: MIMETypes

    public init(config: ServerConfig, sites: SiteTable) {
        self.config = config
        self.sites = sites
        mime = MIMETypes(overrides: config.mimeOverrides)
    }

    /// Defaults with one placeholder site (for plugins' tests that build a RequestContext by hand).
    public static let standalone = RuntimeSettings(config: ServerConfig(), sites: SiteTable(sites: [Site(names: [], root: "/nonexistent")], defaultIndex: 0))

    /// Builds a snapshot, opening the sites' roots. Throws `ConfigError`.
    public static func make(_ config: ServerConfig) throws -> RuntimeSettings {
        do {
            return RuntimeSettings(config: config, sites: try SiteTable.open(config.sites, file: config.file))
        } catch let e as ConfigError where e.line == nil {
            // Name the line of the key in the file (e.g. sites[0].root), as parse errors do.
            throw ConfigError(file: e.file, line: config.line(of: e.key), key: e.key, message: e.message)
        }
    }

    /// The media type for a file name, by its extension.
    public func contentType(forPath path: String) -> String { mime.contentType(forPath: path) }
}
