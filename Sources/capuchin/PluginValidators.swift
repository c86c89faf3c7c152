import Admin
import CapuchinServer
import FileCache
import ReverseProxy

extension PluginCatalog {
    /// What `capuchin check` runs for each plugin's section: the parsing its
    /// factory does, without opening a store or starting anything.
    static var validators: [PluginValidator] {
        [
            PluginValidator(name: "cache", enabledByDefault: true) { section, _ in
                _ = try FileCacheConfig(section: section)
                return []
            },
            PluginValidator(name: "compression", enabledByDefault: true) { section, _ in
                _ = try CompressionConfig(section: section)
                return []
            },
            PluginValidator(name: "admin", enabledByDefault: false) { section, _ in
                let settings = try AdminSettings(section: section)
                return [ListenerSpec(host: settings.bind, port: settings.port, pluginName: "admin")]
            },
            PluginValidator(name: "proxy", enabledByDefault: false) { section, _ in
                _ = try ProxyConfig.parse(section, defaultNodeID: "check")
                return []
            },
        ]
    }
}
