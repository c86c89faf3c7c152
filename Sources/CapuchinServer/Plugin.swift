import HTTPCore

/// What a plugin sees of a connection (never its descriptor).
public struct ConnectionInfo: Sendable {
    public var id: UInt64
    public var workerID: Int
    public var peerAddress: String
    public var peerPort: Int
    public var localPort: Int
    /// The connection came through a TLS listener (HTTPS).
    public var isTLS: Bool

    public init(id: UInt64, workerID: Int, peerAddress: String, peerPort: Int, localPort: Int, isTLS: Bool = false) {
        self.id = id
        self.workerID = workerID
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.localPort = localPort
        self.isTLS = isTLS
    }
}

/// Per-request state shared by the stages of one request.
public final class RequestContext {
    public let connection: ConnectionInfo
    /// The virtual host chosen by Host.
    public private(set) var site: Site
    /// When the head was parsed (monotonic nanoseconds).
    public private(set) var startNanos: UInt64
    /// A precise monotonic time (`Clock.preciseMonotonicNanos`) by which the
    /// request had been received: its worker's loop iteration start. `.max`
    /// outside a worker (received "now").
    public private(set) var receivedByNanos: UInt64
    /// The configuration snapshot this request is served under (MIME overrides,
    /// limits); replaced as a whole on reload.
    public private(set) var settings: RuntimeSettings
    /// For the access log: the cache verdict the client was sent (its X-Cache),
    /// nil when no cache answered. Set by the logger from the response.
    public var cacheVerdict: String?
    /// For the access log: the backend a proxied request went to ("host:port").
    public var upstream: String?

    /// The connection the request arrived on, for `deferResponse` while the
    /// pipeline runs (not retained: set per request on the hot path).
    unowned(unsafe) var client: HTTP1Connection?
    /// The loop of the worker that parsed the request (outlives every request of it).
    unowned(unsafe) var loop: EventLoop?
    private(set) var sink: ResponseSink?

    /// Called by the sink when it is done (breaks the context/sink cycle).
    func detachSink() { sink = nil }

    /// This worker's event loop (outbound connections, timers); nil outside a worker (tests).
    public var eventLoop: EventLoop? { loop }

    /// Answer later: return `.deferred(sink)` from `handle` and complete the
    /// sink on this worker thread. nil outside a connection (tests).
    public func deferResponse(request: HTTPRequest) -> ResponseSink? {
        if let sink { return sink }
        guard let client else { return nil }
        let s = ResponseSink(request: request, context: self, connection: client, bodyComplete: !client.isReadingBody)
        sink = s
        return s
    }

    public init(connection: ConnectionInfo, site: Site, startNanos: UInt64, settings: RuntimeSettings = .standalone,
                receivedByNanos: UInt64 = .max) {
        self.connection = connection
        self.site = site
        self.startNanos = startNanos
        self.receivedByNanos = receivedByNanos
        self.settings = settings
    }

    /// Makes this context the next request's on the same connection, as a new
    /// one would be (its connection stays). Only for a context nothing else
    /// holds (`isKnownUniquelyReferenced`): a connection reuses its last one
    /// instead of allocating and freeing one a request.
    func reset(site: Site, startNanos: UInt64, settings: RuntimeSettings, receivedByNanos: UInt64) {
        // Usually the same site and settings as the last request: assigning
        // them anyway cost a retain and a release each.
        if self.site !== site { self.site = site }
        self.startNanos = startNanos
        if self.settings !== settings { self.settings = settings }
        self.receivedByNanos = receivedByNanos
        cacheVerdict = nil
        upstream = nil
        client = nil
        loop = nil
        sink = nil
    }
}

/// A plugin hooks into the stages of a connection and a request, as Monkey's
/// and nginx's phases do. Every method has a default that does nothing, so a
/// plugin implements only its stages. Methods run on the worker thread that
/// owns the connection; a plugin shared by workers must be thread-safe.
public protocol Plugin: AnyObject {
    /// The name used in the config's `plugins` section.
    var name: String { get }

    /// The per-request and per-connection stages this plugin implements (read
    /// once at start-up); the default, `.all`, visits it at every stage.
    var phases: PluginPhases { get }

    /// Once per worker thread, before it serves; and once as it stops.
    func workerStarted(workerID: Int)
    /// Once per worker thread with its event loop; the default calls `workerStarted(workerID:)`.
    func workerStarted(workerID: Int, loop: EventLoop)
    func workerStopping(workerID: Int)

    /// A new connection; return false to close it at once.
    func connectionAccepted(_ connection: ConnectionInfo) -> Bool

    /// The head is parsed; return a response to answer at once (no content handler runs).
    func requestParsed(_ request: HTTPRequest, context: RequestContext) -> Response?

    /// The content handler: answer, defer, or `.pass` to the next plugin.
    /// Plugins are asked in registration order; the static file handler is last.
    func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult

    /// Every response passes every enabled plugin's filter, in order.
    func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext)

    /// The response was handed to the socket (fully queued).
    func requestDone(_ request: HTTPRequest, status: Int, bytes: Int, context: RequestContext)

    func connectionClosed(_ connection: ConnectionInfo)

    /// Listeners this plugin owns (bound at start-up, not on reload); requests
    /// arriving on them go only to this plugin's `requestParsed`/`handle`/`filter`.
    func extraListeners(config: ServerConfig) -> [ListenerSpec]

    /// Once, after every worker stopped (flush state to disk here).
    func serverStopped()
}

extension Plugin {
    public var phases: PluginPhases { .all }
    public func workerStarted(workerID: Int) {}
    public func workerStarted(workerID: Int, loop: EventLoop) { workerStarted(workerID: workerID) }
    public func workerStopping(workerID: Int) {}
    public func connectionAccepted(_ connection: ConnectionInfo) -> Bool { true }
    public func requestParsed(_ request: HTTPRequest, context: RequestContext) -> Response? { nil }
    public func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult { .pass }
    public func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext) {}
    public func requestDone(_ request: HTTPRequest, status: Int, bytes: Int, context: RequestContext) {}
    public func connectionClosed(_ connection: ConnectionInfo) {}
    public func extraListeners(config: ServerConfig) -> [ListenerSpec] { [] }
    public func serverStopped() {}
}
