/// An extra listening socket a plugin owns (e.g. the admin API on 127.0.0.1).
/// Requests arriving on it go only to that plugin.
public struct ListenerSpec: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var pluginName: String

    public init(host: String, port: Int, pluginName: String) {
        self.host = host
        self.port = port
        self.pluginName = pluginName
    }
}
