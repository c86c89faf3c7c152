import CapuchinServer
import CapuchinSystem
import HTTPCore

/// The reverse proxy: requests whose path matches a route go to that route's
/// pool (failover, keep-alive backend connections, timeouts), cacheable
/// responses are stored and served by RFC 9111, and concurrent misses for one
/// key on a worker are coalesced into one origin request. Stale responses are
/// revalidated with their validators (`StaleRevalidation`), served at once
/// while a background refresh runs (stale-while-revalidate, grace) or when the
/// origin fails (stale-if-error). Requests matching no route are declined
/// (the static handler serves them).
public final class ProxyPlugin: Plugin, @unchecked Sendable {
    public let name = "proxy"
    public let config: ProxyConfig
    let log: ErrorLog
    let loopGuard: LoopGuard
    /// This server's Via member ("1.1 pseudonym"), built once.
    let via: String
    let pools: [String: PoolRuntime]
    let cache: ProxyCache?
    /// Concurrent misses for one key make one origin request, server-wide.
    let coalescing = SharedCoalescingTable<String, UpstreamExchange.Outcome>()
    /// Keys whose misses are not coalesced for a while (their response could not be shared).
    let hitForMiss = HitForMiss()
    /// Per-worker state, indexed by worker id; each slot written and read by its own worker only.
    private let workers: UnsafeMutablePointer<ProxyWorker?>
    private static let maxWorkers = 257

    /// Builds the plugin. Throws `ConfigError`, or the cache's error when its
    /// directory or index cannot be opened.
    public init(config: ProxyConfig, listen: [BackendAddress], log: ErrorLog) throws {
        self.config = config
        self.log = log
        loopGuard = LoopGuard(nodeID: config.nodeID, listenAddresses: listen)
        via = "1.1 \(loopGuard.pseudonym)"
        var pools: [String: PoolRuntime] = [:]
        for (name, p) in config.pools { pools[name] = PoolRuntime(config: p, loopGuard: loopGuard, log: { log.warn($0) }) }
        self.pools = pools
        TargetedCacheControl.configure(own: config.cache.targetedField, cdn: config.cache.cdnCacheControl)
        cache = config.cache.enabled ? try ProxyCache(config: config.cache, log: log) : nil
        workers = .allocate(capacity: Self.maxWorkers)
        workers.initialize(repeating: nil, count: Self.maxWorkers)
    }

    deinit {
        workers.deinitialize(count: Self.maxWorkers)
        workers.deallocate()
    }

    /// The factory `capuchin` registers (enabled by `plugins: {proxy: true}`).
    public static var factory: PluginFactory { factory(onCreate: { _ in }) }

    /// The same, telling `onCreate` about each plugin built (the admin API's purges).
    public static func factory(onCreate: @escaping (ProxyPlugin) -> Void) -> PluginFactory {
        PluginFactory(name: "proxy", enabledByDefault: false) { setup in
            let config = try ProxyConfig.parse(setup.section, defaultNodeID: defaultNodeID())
            let listen = [BackendAddress(host: setup.config.listenAddress, port: setup.config.port)]
            let plugin = try ProxyPlugin(config: config, listen: listen, log: setup.log)
            onCreate(plugin)
            return plugin
        }
    }

    /// Purges (`soft`: marks stale) stored responses by key (see `ProxyBodyStore.purge(key:)`); 0 without a cache.
    public func purgeCache(key: String, soft: Bool = false) -> Int { cache?.store.purge(key: key, soft: soft) ?? 0 }

    /// The same for the stored responses whose key starts with `prefix`.
    public func purgeCache(prefix: String, soft: Bool = false) -> Int { cache?.store.purge(prefix: prefix, soft: soft) ?? 0 }

    /// The same for the stored responses carrying any of `tags`. Throws when the index cannot be read.
    public func purgeCache(tags: [String], soft: Bool = false) throws -> Int { try cache?.store.purge(tags: tags, soft: soft) ?? 0 }

    /// Removes every stored response; returns how many.
    public func clearCache() -> Int { purgeCache(prefix: ProxyBodyStore.keyPrefix) }

    /// The host name as a token (for `Via`), "capuchin" when it has none.
    static func defaultNodeID() -> String {
        guard let host = FileSystem.hostName() else { return "capuchin" }
        let name = host.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        return name.isEmpty ? "capuchin" : name
    }

    public func workerStarted(workerID: Int, loop: EventLoop) {
        guard workerID < Self.maxWorkers else { return }
        let worker = ProxyWorker(loop: loop, plugin: self)
        workers[workerID] = worker
        // One worker checks every pool's backends (their state is shared by all workers).
        if workerID == 0 {
            for (_, runtime) in pools.sorted(by: { $0.key < $1.key }) {
                guard let check = runtime.pool.config.healthCheck else { continue }
                let checker = HealthChecker(runtime: runtime, config: check, loop: loop, log: { [log] in log.warn($0) })
                worker.healthCheckers.append(checker)
                checker.start()
            }
        }
    }

    public func workerStopping(workerID: Int) {
        guard workerID < Self.maxWorkers else { return }
        workers[workerID]?.idle.closeAll()
        for checker in workers[workerID]?.healthCheckers ?? [] { checker.stop() }
    }

    /// Every backend's state, pool by pool (the admin API's and metrics' view).
    public func backendStates() -> [(pool: String, backend: BackendState, healthChecked: Bool)] {
        pools.sorted(by: { $0.key < $1.key }).flatMap { name, runtime in
            runtime.pool.backends.map { (name, $0, runtime.pool.config.healthCheck != nil) }
        }
    }

    public func serverStopped() { cache?.close() }

    public var phases: PluginPhases { .handle }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
        guard let route = config.route(for: request.path), let pool = pools[route.pool] else { return .pass }
        if loopGuard.isLoop(request.headers) { return .respond(loopGuard.loopDetectedResponse()) }
        let id = context.connection.workerID
        guard id < Self.maxWorkers, let worker = workers[id] else { return .respond(ErrorPage.response(500)) }
        let client = ClientInfo(address: context.connection.peerAddress, scheme: context.connection.isTLS ? "https" : "http")
        let cacheable = cache != nil && (request.method == "GET" || request.method == "HEAD")
        // Keyed by the client's scheme: an https page never answers an http request, nor the reverse.
        let primary = config.cache.key.primary(for: request, scheme: client.scheme)
        let now = Clock.wallNanos() / 1_000_000_000
        var stale: StaleRevalidation?
        var expired: (object: CachedObject, staleIfError: Bool)?
        if cacheable, let cache, let found = cache.lookup(request, primary: primary, now: now) {
            // A usable hit is answered at once, without a deferred response.
            switch found.use {
            case .fresh:
                if let hit = cache.response(for: found.object, request: request, now: now, via: via, served: .fresh) { return .respond(hit) }
            case .staleWhileRevalidate:
                if let hit = cache.response(for: found.object, request: request, now: now, via: via, served: .staleWhileRevalidate) {
                    refreshInBackground(found.object, request: request, primary: primary, via: via, route: pool, worker: worker, client: client)
                    return .respond(hit)
                }
            case .revalidate(let staleIfError):
                expired = (found.object, staleIfError)
            }
        }
        guard let sink = context.deferResponse(request: request) else { return .respond(ErrorPage.response(500)) }
        guard let cache, cacheable else {
            let exchange = UpstreamExchange(route: pool, worker: worker, request: request, client: client, sink: sink)
            if self.cache != nil { exchange.forward = .method }
            exchange.begin()
            return .deferred(sink)
        }
        if let expired, request.method == "GET" {
            stale = StaleRevalidation(cache: cache, stale: expired.object, staleIfError: expired.staleIfError, request: request,
                                      via: via, client: sink)
        }
        guard request.method == "GET" else {
            // A HEAD miss is relayed, not stored (a GET fills the cache).
            let exchange = UpstreamExchange(route: pool, worker: worker, request: request, client: client, sink: sink)
            exchange.forward = .method
            exchange.begin()
            return .deferred(sink)
        }
        // The leader may finish on another worker: a waiter's answer is posted to its own.
        let poster = worker.loop.poster
        let waiter = WorkerBound((stale: stale, route: pool, worker: worker, sink: sink))
        // A plain GET can stream the response its leader is storing; one with
        // preconditions or a Range waits for the stored response.
        let streams = !ConditionalEvaluator.hasPreconditionOrRange(request.headers)
        if hitForMiss.isMarked(primary, now: worker.loop.now) {
            // Not coalesced: its response was not shareable a moment ago. It may be now: it is stored if it can be.
            let exchange = fetch(request, primary: primary, stale: stale?.stale, route: pool, worker: worker, client: client, sink: sink)
            exchange.forward = expired != nil ? .stale : cache.missReason(primary: primary)
            stale?.attach(to: exchange)
            exchange.onComplete = { [hitForMiss] outcome in if case .stored = outcome { hitForMiss.clear(primary) } }
            exchange.begin()
            return .deferred(sink)
        }
        switch coalescing.join(primary, acceptsInterim: streams, onResult: { [self] outcome in
            poster.post {
                let w = waiter.value
                self.follow(outcome, request: request, primary: primary, stale: w.stale, route: w.route, worker: w.worker,
                            client: client, sink: w.sink)
            }
        }) {
        case .leader:
            let exchange = fetch(request, primary: primary, stale: stale?.stale, route: pool, worker: worker, client: client, sink: sink)
            exchange.forward = expired != nil ? .stale : cache.missReason(primary: primary)
            stale?.attach(to: exchange)
            exchange.onComplete = { [coalescing, hitForMiss, unowned exchange] outcome in
                // A response its waiters may not share: they fetch their own, and so do later misses for a while.
                if case .notStored = outcome, exchange.fill?.shareable == false { hitForMiss.mark(primary, now: exchange.worker.loop.now) }
                // Handed over already (below).
                if exchange.fill?.spoolRefused != true { coalescing.complete(primary, with: outcome) }
            }
            // Too large to store or spool: the waiters fetch their own now (as nginx's do
            // once its cache lock times out), and so do later misses for a while.
            exchange.onSpoolRefused = { [coalescing, hitForMiss, unowned exchange] in
                hitForMiss.mark(primary, now: exchange.worker.loop.now)
                coalescing.complete(primary, with: .notStored)
            }
            exchange.onStreamReady = { [coalescing] body in coalescing.publish(primary, .streaming(body)) }
            // Its client leaving must not cancel what the waiters wait for.
            exchange.continuesWithoutClient = true
            exchange.begin()
        case .follower(let ticket):
            sink.onCancel = { [coalescing] in coalescing.cancel(primary, ticket: ticket) }
        }
        return .deferred(sink)
    }

    /// An exchange that fills the cache for `request`: conditional on the
    /// stale response's validators when it has any (RFC 9111 4.3.1).
    private func fetch(_ request: HTTPRequest, primary: String, stale: CachedObject?, route: PoolRuntime, worker: ProxyWorker,
                       client: ClientInfo, sink: ExchangeClient) -> UpstreamExchange {
        let fill = Revalidation.fillRequest(for: request)
        let upstream = stale.map { $0.response.hasValidator ? Revalidation.conditionalRequest(for: request, stored: $0.response) : fill } ?? fill
        let exchange = UpstreamExchange(route: route, worker: worker, request: upstream, client: client, sink: sink)
        if let cache { exchange.fill = CacheFill(store: cache.store, rules: cache.rules, request: fill, primary: primary) }
        return exchange
    }

    /// stale-while-revalidate: refreshes `object` with no client waiting, at
    /// most one refresh per key at a time across workers.
    private func refreshInBackground(_ object: CachedObject, request: HTTPRequest, primary: String, via: String,
                                     route: PoolRuntime, worker: ProxyWorker, client: ClientInfo) {
        guard let cache, request.method == "GET" || request.method == "HEAD", cache.beginRefresh(primary) else { return }
        var get = request
        get.method = "GET"
        let exchange = fetch(get, primary: primary, stale: object, route: route, worker: worker, client: client, sink: DetachedClient())
        StaleRevalidation(cache: cache, stale: object, staleIfError: false, request: get, via: via, client: nil).attach(to: exchange)
        exchange.onComplete = { _ in cache.endRefresh(primary) }
        exchange.begin()
    }

    /// A coalesced waiter: stream what the leader is storing (or spooling: too
    /// large to store), serve what it stored, serve stale (or an error) when
    /// its origin failed; fetch on its own only when the leader's response was
    /// not stored (it may be private: see `HitForMiss`).
    private func follow(_ outcome: UpstreamExchange.Outcome, request: HTTPRequest, primary: String,
                        stale: StaleRevalidation?, route: PoolRuntime, worker: ProxyWorker, client: ClientInfo, sink: ResponseSink) {
        guard !sink.isCancelled else { return }
        sink.onCancel = nil
        let now = Clock.wallNanos() / 1_000_000_000
        if case .streaming(let body) = outcome {
            // Nil: a spool past its budget whose bytes past the file are gone: a fetch of its own.
            if body.vary.matches(request.headers) && request.method == "GET",
               let waiter = StreamingWaiter(body: body, sink: sink, turns: worker.waiterTurns) {
                waiter.start(cacheStatus: CacheStatus.forwarded(.uriMiss, status: body.status, stored: body.notStoredReason == nil,
                                                                collapsed: true, detail: body.notStoredReason))
                return
            }
            // Another variant: a lookup decides.
            if let cache, let found = cache.lookup(request, primary: primary, now: now), case .fresh = found.use,
               let r = cache.response(for: found.object, request: request, now: now, via: via, served: .collapsed(found.object.response.status)) {
                sink.respond(r)
                return
            }
            return follow(.notStored, request: request, primary: primary, stale: stale, route: route, worker: worker, client: client, sink: sink)
        }
        if case .stored(let object) = outcome, object.response.vary.matches(request.headers),
           let r = cache?.response(for: object, request: request, now: now, via: via, served: .collapsed(object.response.status)) {
            sink.respond(r)
            return
        }
        // The leader's origin failed: serve what this waiter may serve stale,
        // else the error, without a second origin request per waiter.
        if case .failed = outcome {
            if let stale, stale.staleIfError,
               let r = cache?.response(for: stale.stale, request: request, now: now, via: via, served: .staleIfError(status: nil)) {
                sink.respond(r)
                return
            }
            var h = HTTPHeaders()
            h.add("Content-Type", "text/plain; charset=utf-8")
            h.add("Cache-Control", "no-store")
            h.add(CacheStatus.fieldName, CacheStatus.forwarded(.uriMiss, status: nil, collapsed: true))
            sink.respond(Response(status: 502, headers: h,
                                  body: .bytes(Array("502 Bad Gateway: the origin request this one waited for failed\n".utf8))))
            return
        }
        let exchange = UpstreamExchange(route: route, worker: worker, request: request, client: client, sink: sink)
        exchange.forward = .uriMiss
        exchange.begin()
    }
}
