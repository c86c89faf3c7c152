/// Every error found in one configuration file (a start or a reload reports
/// them all at once, as `capuchin check` does, instead of one per attempt).
public struct ConfigErrorList: Error, CustomStringConvertible, Sendable {
    public let errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    /// One error per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension ConfigLoader {
    /// Reads and parses `path` collecting every error the file has. Throws
    /// `ConfigError` (unreadable file, YAML syntax) or `ConfigErrorList`.
    public static func loadReportingAll(path: String) throws -> ServerConfig {
        let report = ConfigDiagnostics(collecting: true)
        let config = try load(path: path, diagnostics: report)
        if report.errors.count == 1 { throw report.errors[0] }
        if !report.errors.isEmpty { throw ConfigErrorList(report.errors) }
        // Plugins validate their sections when built: there the first error stops.
        config.diagnostics.stopCollecting()
        return config
    }
}
