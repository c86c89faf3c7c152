/// How `capuchin check` validates a plugin's section without building the
/// plugin (no store opened, no thread started): the same parsing its factory
/// does. Returns the listeners the plugin would bind (their ports are checked).
public struct PluginValidator {
    public let name: String
    public let enabledByDefault: Bool
    public let validate: (_ section: ConfigSection, _ config: ServerConfig) throws -> [ListenerSpec]

    public init(name: String, enabledByDefault: Bool,
                validate: @escaping (_ section: ConfigSection, _ config: ServerConfig) throws -> [ListenerSpec]) {
        self.name = name
        self.enabledByDefault = enabledByDefault
        self.validate = validate
    }
}

/// The `plugins` switches and each enabled plugin's section, as
/// `PluginRegistry.instantiate` would judge them.
final class PluginSectionsCheck: ConfigCheckStep {
    let validators: [PluginValidator]
    private(set) var listeners: [ListenerSpec] = []

    init(validators: [PluginValidator]) { self.validators = validators }

    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        let registered = Set(validators.map(\.name) + ["static"])
        for name in config.pluginSwitches.keys.sorted() where !registered.contains(name) && !PluginRegistry.knownNames.contains(name) {
            report.add(config, "plugins.\(name)", "unknown plugin (known: \(PluginRegistry.knownNames.joined(separator: ", ")))")
        }
        if config.pluginSwitches["static"] == false {
            report.add(config, "plugins.static", "the static file handler cannot be disabled")
        }
        for v in validators where config.pluginSwitches[v.name] ?? v.enabledByDefault {
            let section = config.section(for: v.name)
            do {
                listeners += try v.validate(section, config)
                try section.finish()
            } catch let e as ConfigError {
                report.add(e)
            } catch {
                report.add(config, v.name, "\(error)")
            }
        }
    }
}
