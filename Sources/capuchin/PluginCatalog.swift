import CapuchinServer

/// The plugins built into this binary, in the order they see requests (the
/// static file handler is appended last by the server). The cache, admin and
/// proxy plugins register here as they land.
enum PluginCatalog {
    static var factories: [PluginFactory] { [] }
}
