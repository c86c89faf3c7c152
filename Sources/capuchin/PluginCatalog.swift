import Admin
import CapuchinServer
import FileCache
import ReverseProxy

/// The plugins built into this binary, in the order they see requests (the
/// static file handler is appended last by the server).
enum PluginCatalog {
    static var factories: [PluginFactory] {
        let link = FileCacheLink()
        return [
            FileCachePlugin.factory(onCreate: { link.cache = $0.cache }),
            CompressionPlugin.factory(onCreate: { link.compression = $0.source }),
            AdminPlugin.factory { setup in ServerAdminBackend(statistics: setup.statistics, link: link, servesTLS: setup.config.servesTLS) },
            ProxyPlugin.factory(onCreate: { link.proxy = $0 }),
        ]
    }
}
