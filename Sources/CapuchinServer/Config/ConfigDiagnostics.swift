/// Shared by every section of one configuration file: where each key was
/// (file lines, for errors found after parsing, such as a missing site root),
/// and, for `capuchin check`, every error found instead of only the first.
public final class ConfigDiagnostics {
    /// true: getters record an error and go on with the default (`check`);
    /// false: the first error is thrown (start-up, reload).
    public private(set) var collecting: Bool
    public private(set) var errors: [ConfigError] = []
    /// Line of each key read, by its dotted path ("sites[0].root").
    public private(set) var lines: [String: Int] = [:]

    public init(collecting: Bool = false) { self.collecting = collecting }

    /// From now on the first error is thrown (the file was parsed; what reads
    /// sections later, the plugins being built, must not go on with defaults).
    public func stopCollecting() { collecting = false }

    /// Throws `error`, or records it when collecting (once: a key read twice reports once).
    public func report(_ error: ConfigError) throws {
        guard collecting else { throw error }
        if !errors.contains(error) { errors.append(error) }
    }

    /// Records an error found outside the getters (a path, a port), never throwing.
    public func add(_ error: ConfigError) {
        if !errors.contains(error) { errors.append(error) }
    }

    func noteLine(_ line: Int?, of key: String) {
        if let line, lines[key] == nil { lines[key] = line }
    }
}
