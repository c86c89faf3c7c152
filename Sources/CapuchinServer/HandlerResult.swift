/// What a content handler answers (`Plugin.handle`).
public enum HandlerResult {
    /// The response, written in order with the connection's other responses.
    case respond(Response)
    /// The answer comes later through this sink (from `RequestContext.deferResponse`);
    /// later pipelined requests on the connection wait for it.
    case deferred(ResponseSink)
    /// Not this handler's request: ask the next one (the static handler is last).
    case pass

    /// The response of `.respond`, else nil (for callers that only take whole responses, e.g. tests).
    public var response: Response? {
        if case .respond(let r) = self { return r }
        return nil
    }
}

/// The request and connection stages a plugin takes part in, declared once at
/// set-up (as an nginx module registers its phase handlers): the pipeline keeps
/// one array per stage, so a request never visits a plugin for a stage it
/// does not use. Lifecycle calls (`workerStarted`, `serverStopped`, ...) reach every plugin.
public struct PluginPhases: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let connectionAccepted = PluginPhases(rawValue: 1 << 0)
    public static let requestParsed = PluginPhases(rawValue: 1 << 1)
    public static let handle = PluginPhases(rawValue: 1 << 2)
    public static let filter = PluginPhases(rawValue: 1 << 3)
    public static let requestDone = PluginPhases(rawValue: 1 << 4)
    public static let connectionClosed = PluginPhases(rawValue: 1 << 5)
    public static let all: PluginPhases = [.connectionAccepted, .requestParsed, .handle, .filter, .requestDone, .connectionClosed]
}
