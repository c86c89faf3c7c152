import Admin
import CapuchinServer
import ReverseProxy

/// The plugins built into this binary, in the order they see requests (the
/// static file handler is appended last by the server).
enum PluginCatalog {
    static var factories: [PluginFactory] {
        [
            AdminPlugin.factory { setup in ServerAdminBackend(statistics: setup.statistics) },
            ProxyPlugin.factory,
        ]
    }
}
