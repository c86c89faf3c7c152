/// One family of checks `capuchin check` runs on a parsed configuration. Each
/// records every problem it finds (file, line, key) and never stops at the
/// first (`TLSCertificatesCheck` loads each certificate and its key).
public protocol ConfigCheckStep {
    func run(_ config: ServerConfig, into report: ConfigDiagnostics)
}

/// `capuchin check --config FILE` and `capuchin serve --config FILE --check`:
/// validates everything `serve` would before starting (YAML, keys, types,
/// plugin sections, paths, the user to run as, free ports) without binding
/// anything for long, opening a store or starting a thread.
public enum ConfigCheck {
    /// Every error found, in file order (those without a line last); empty: the
    /// configuration would start. `overrides` are the `serve` flags, if any.
    public static func run(path: String, overrides: ConfigOverrides? = nil, plugins: [PluginValidator],
                           extraSteps: [ConfigCheckStep] = []) -> [ConfigError] {
        let report = ConfigDiagnostics(collecting: true)
        var config: ServerConfig
        do {
            config = try ConfigLoader.load(path: path, diagnostics: report)
            try overrides?.apply(to: &config)
        } catch let e as ConfigError {
            report.add(e)
            return report.errors
        } catch {
            return [ConfigError(file: path, line: nil, key: "", message: "\(error)")]
        }
        let pluginCheck = PluginSectionsCheck(validators: plugins)
        pluginCheck.run(config, into: report)
        let steps: [ConfigCheckStep] = [SitePathsCheck(), LogPathsCheck(), StateDirectoryCheck(), AccountCheck(),
                                        PortsCheck(pluginListeners: pluginCheck.listeners), TLSCertificatesCheck()] + extraSteps
        for step in steps { step.run(config, into: report) }
        return ordered(report.errors)
    }

    static func ordered(_ errors: [ConfigError]) -> [ConfigError] {
        errors.enumerated().sorted { a, b in
            let (la, lb) = (a.element.line ?? Int.max, b.element.line ?? Int.max)
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
    }
}

extension ConfigDiagnostics {
    /// Records an error about `key` of `config`'s file, at the key's line.
    func add(_ config: ServerConfig, _ key: String, _ message: String) {
        add(ConfigError(file: config.file, line: config.line(of: key), key: key, message: message))
    }
}
