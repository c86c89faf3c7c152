import CapuchinServer
import CapuchinSystem
import HTTPCore

/// One client request relayed to a pool: buffers the request body, picks a
/// backend, connects (or reuses an idle connection), sends, and streams the
/// response back through the client's `ResponseSink`. A backend that refuses
/// or times out is marked down and the next one is tried, up to the pool's
/// `attempts`, as long as nothing was sent to the client yet. Worker-thread only.
final class UpstreamExchange: OutboundHandler {
    /// How the exchange ended, for coalesced waiters.
    enum Outcome: Sendable {
        case stored(CachedObject)
        case notStored
        case failed
        /// Interim, for coalesced waiters: the response is being stored; stream it.
        case streaming(StreamingBody)
    }

    let route: PoolRuntime
    let worker: ProxyWorker
    let request: HTTPRequest
    let client: ClientInfo
    let sink: ExchangeClient
    /// Tees a cacheable response into the store.
    var fill: CacheFill?
    /// Why the cache sent this request to the origin: set when a cache is on,
    /// it makes the relayed response carry `Cache-Status`.
    var forward: CacheStatus.Forward?
    /// Called once when the exchange ends (coalescing leader).
    var onComplete: ((Outcome) -> Void)?
    /// Called when a response begins to be stored (coalescing leader): its
    /// waiters can stream it from the body file as it arrives.
    var onStreamReady: ((StreamingBody) -> Void)?
    /// Called when a response too large to store cannot be spooled either (`SpoolBudget`): the waiters fetch their own.
    var onSpoolRefused: (() -> Void)?
    /// The fetch goes on when the client leaves (others wait for it); set for coalescing leaders.
    var continuesWithoutClient = false
    /// Sees the backend's head before anything is relayed. Non-nil: the hook
    /// answered the client itself (a 304 refreshing a stored response, or
    /// stale-if-error); the backend's body is read and dropped and the
    /// exchange ends with that outcome.
    var interceptHead: ((BackendResponseHead) -> Outcome?)?
    /// Called when every attempt failed, before a 502/504 is sent. Non-nil:
    /// the hook answered the client (stale-if-error) and no error is sent.
    var onGiveUp: (() -> Outcome?)?

    private var body: [UInt8] = []
    private var failover: FailoverSequence
    private var backend: Int?
    private var connection: OutboundConnection?
    private var reused = false
    private var receivedAny = false
    private var parser: ResponseParser
    private var timer: TimerHandle?
    private var headSent = false
    private var framing = ClientFraming.noBody
    private var lastFailureTimedOut = false
    private var failures: [String] = []
    private var done = false
    /// Set when `interceptHead` took the response: its body is not relayed.
    private var intercepted: Outcome?
    /// The response being stored, as its coalesced waiters read it.
    private var stream: StreamingBody?
    /// The client left while others wait for this fetch: it goes on, storing, relaying nothing.
    private var clientGone = false

    init(route: PoolRuntime, worker: ProxyWorker, request: HTTPRequest, client: ClientInfo, sink: ExchangeClient) {
        self.route = route
        self.worker = worker
        self.request = request
        self.client = client
        self.sink = sink
        failover = route.pool.failover(key: route.balanceKey(for: request))
        parser = ResponseParser(requestMethod: request.method)
    }

    private var loop: EventLoop { worker.loop }
    private var config: PoolConfig { route.pool.config }

    /// Starts once the request body is complete (it is buffered so a failed
    /// attempt can be repeated on another backend).
    func begin() {
        sink.onCancel = { [self] in cancel() }
        if sink.requestBodyComplete {
            attempt()
        } else {
            sink.onRequestBody = { [self] bytes in body.append(contentsOf: bytes) }
            sink.onRequestBodyEnd = { [self] in attempt() }
        }
    }

    // MARK: attempts

    private func attempt() {
        guard !done else { return }
        guard let i = failover.next(now: loop.now) else { return giveUp() }
        backend = i
        receivedAny = false
        // The access log's `upstream` field (the last backend tried).
        (sink as? ResponseSink)?.context.upstream = route.pool.backends[i].address.description
        route.pool.backends[i].requestStarted()
        if let idle = worker.idle.take(pool: route.pool.name, backend: i, now: loop.now, maxIdleNanos: config.keepaliveTimeoutNanos) {
            reused = true
            connection = idle
            idle.handler = self
            sendRequest()
            return
        }
        connect(i)
    }

    private func connect(_ i: Int) {
        reused = false
        guard let host = route.resolvedHosts[i] else {
            return backendFailed(timedOut: false, why: "\(route.pool.backends[i].address): host does not resolve")
        }
        do {
            let address = route.pool.backends[i].address
            connection = try loop.connect(host: host, port: address.port, handler: self, tls: config.tls, serverName: address.host)
        } catch {
            return backendFailed(timedOut: false, why: "\(route.pool.backends[i].address): \(error)")
        }
        arm(config.connectTimeoutNanos) { [self] in
            backendFailed(timedOut: true, why: "\(route.pool.backends[i].address): connect timed out")
        }
    }

    private func sendRequest() {
        guard let c = connection, let i = backend else { return }
        let framing: BodyFraming = body.isEmpty && request.framing == .none ? .none : .contentLength(body.count)
        var bytes = route.builder.head(for: request, client: client, backend: route.pool.backends[i].address, body: framing)
        bytes += body
        parser = ResponseParser(requestMethod: request.method)
        c.send(bytes)
        arm(config.firstByteTimeoutNanos) { [self] in
            backendFailed(timedOut: true, why: "\(route.pool.backends[i].address): no response within the first-byte timeout")
        }
    }

    private func arm(_ nanos: UInt64, _ action: @escaping () -> Void) {
        timer?.cancel()
        timer = loop.schedule(after: nanos, action)
    }

    /// Methods a retry on another backend cannot harm after the request was sent.
    private var idempotent: Bool {
        ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"].contains(request.method)
            || request.headers["Idempotency-Key"] != nil
    }

    /// `counts`: whether the failure is the backend's (false for a reused
    /// connection it had closed, which says nothing of its health).
    private func backendFailed(timedOut: Bool, why: String, counts: Bool = true, sent wasSent: Bool? = nil) {
        timer?.cancel()
        let sent = wasSent ?? (connection != nil && connection!.isConnected)
        connection?.close()
        connection = nil
        if let i = backend {
            route.pool.backends[i].requestFinished()
            if counts { route.pool.reportFailure(i, now: loop.now) }
            backend = nil
        }
        failures.append(why)
        lastFailureTimedOut = timedOut
        worker.log("proxy: \(request.method) \(request.target): \(why)")
        if headSent { return abortClient() }
        if sent && !idempotent { return giveUp() }
        attempt()
    }

    private func giveUp() {
        guard !done else { return }
        if let outcome = onGiveUp?() { return finish(outcome) }
        let status = lastFailureTimedOut ? 504 : 502
        let detail = failures.isEmpty ? "no live backend in pool \(route.pool.name)" : failures.joined(separator: "; ")
        var h = HTTPHeaders()
        h.add("Content-Type", "text/plain; charset=utf-8")
        h.add("Cache-Control", "no-store")
        let text = "\(status) \(HTTPStatus.reasonPhrase(status)): \(detail)\n"
        finish(.failed)
        sink.respond(Response(status: status, headers: h, body: .bytes(Array(text.utf8))))
    }

    /// The backend failed mid-response. A client already answered by
    /// `interceptHead` keeps its answer; otherwise its connection is reset.
    private func abortClient() {
        let answered = intercepted
        finish(answered ?? .failed)
        if answered == nil { sink.abort() }
    }

    private func finish(_ outcome: UpstreamExchange.Outcome) {
        guard !done else { return }
        done = true
        timer?.cancel()
        if isFailure(outcome) { fill?.abort() }
        if case .stored = outcome { stream?.complete() } else { stream?.fail() }
        sink.onDrain = nil
        let cb = onComplete
        onComplete = nil
        cb?(outcome)
    }

    private func isFailure(_ o: Outcome) -> Bool { if case .failed = o { return true } else { return false } }

    /// The client left: drop the backend connection (its response is unread),
    /// unless coalesced waiters depend on this fetch: then it goes on.
    private func cancel() {
        guard !done else { return }
        if continuesWithoutClient {
            clientGone = true
            sink.onDrain = nil
            connection?.resumeReading()
            return
        }
        connection?.close()
        connection = nil
        if let i = backend { route.pool.backends[i].requestFinished(); backend = nil }
        finish(.failed)
    }

    // MARK: OutboundHandler

    func outboundConnected(_ c: OutboundConnection) {
        guard c === connection else { return }
        sendRequest()
    }

    func outboundReadable(_ c: OutboundConnection, _ bytes: UnsafeRawBufferPointer) {
        guard c === connection, !done else { return }
        receivedAny = true
        let events: [ResponseEvent]
        do { events = try parser.feed(bytes) } catch {
            return protocolError("\(error)")
        }
        arm(config.idleTimeoutNanos) { [self] in
            if headSent { abortClient(); connection?.close(); connection = nil; releaseBackend() }
            else { backendFailed(timedOut: true, why: "\(c.host):\(c.port): response stalled") }
        }
        handle(events)
    }

    func outboundWritable(_ c: OutboundConnection) {}

    func outboundClosed(_ c: OutboundConnection, error: SystemError?) {
        guard c === connection, !done else { return }
        connection = nil
        if reused && !receivedAny, let i = backend, idempotent || c.unsentBytes > 0 {
            // A kept-alive connection the backend had closed (its idle timeout
            // raced our reuse): not the backend's fault, so it is not counted,
            // and the request is sent once more on a fresh connection. As
            // nginx, a request that is not safe to repeat is retried only
            // when it was not wholly written.
            timer?.cancel()
            connect(i)
            return
        }
        if parser.head != nil {
            do { handle(try parser.finishAtEOF()) } catch {
                if headSent { releaseBackend(); return abortClient() }
                return protocolError("\(error)")
            }
            return
        }
        let address = backend.map { route.pool.backends[$0].address.description } ?? "\(c.host):\(c.port)"
        let why = "\(address): " + (error.map { "\($0)" } ?? "closed the connection without a response")
        // A reused connection lost before any answer (a request not safe to
        // repeat, which was sent): not the backend's failure, and not retried.
        backendFailed(timedOut: false, why: why, counts: !(reused && !receivedAny), sent: c.isConnected)
    }

    private func protocolError(_ why: String) {
        connection?.close()
        connection = nil
        if headSent { releaseBackend(); return abortClient() }
        // A malformed answer is not retried elsewhere: the backend did answer.
        if let i = backend { route.pool.backends[i].requestFinished(); backend = nil }
        failures.append(why)
        lastFailureTimedOut = false
        worker.log("proxy: \(request.method) \(request.target): \(why)")
        giveUp()
    }

    private func releaseBackend() {
        if let i = backend { route.pool.backends[i].requestFinished(); backend = nil }
    }

    // MARK: relaying

    private func handle(_ events: [ResponseEvent]) {
        for e in events {
            if done { return }
            switch e {
            case .informational: break
            case .head(let h):
                if let outcome = interceptHead?(h) {
                    if let i = backend { route.pool.reportSuccess(i) }
                    intercepted = outcome
                    headSent = true   // the client was answered: no retry, no error page
                } else {
                    relayHead(h)
                }
            case .body(let b): if intercepted == nil { relayBody(b) }
            case .end: relayEnd()
            }
        }
    }

    private func relayHead(_ h: BackendResponseHead) {
        if let i = backend {
            // A status the pool counts as a failure is still the origin's answer: relayed.
            if config.failOnStatus.contains(h.status) { route.pool.reportFailure(i, now: loop.now) }
            else { route.pool.reportSuccess(i) }
        }
        if HTTPCacheRules.invalidates(method: request.method, status: h.status) { worker.invalidate(request) }
        framing = ClientFraming.forRelay(of: h, clientVersion: request.version)
        var headers = route.responseBuilder.headers(for: h, framing: framing)
        worker.plugin.cache?.rules.tagging.strip(&headers)
        // The server writes its own Server line, and a Date only when the
        // origin sent none (a proxy passes the origin's on, RFC 9110 6.6.1).
        headers.remove("Server")
        let carriesDate = headers.contains("Date")
        if let fill, fill.begin(head: h, now: loop.now, spool: onStreamReady != nil) {
            headers.add("X-Cache", "MISS")
            headers.add(CacheStatus.fieldName, CacheStatus.forwarded(forward ?? .uriMiss, status: h.status, stored: true, ttl: fill.ttl))
        } else if let forward {
            headers.add(CacheStatus.fieldName, CacheStatus.forwarded(forward, status: h.status, detail: fill?.notStoredReason))
        }
        headSent = true
        if fill?.spoolRefused == true { onSpoolRefused?() }
        // Stored or spooled (too large to store): the waiters read the file as it grows.
        if let fill, fill.isWriting, let onStreamReady, let file = fill.openForReaders() {
            var shared = headers
            shared.remove("X-Cache")
            shared.remove(CacheStatus.fieldName)
            let s = StreamingBody(status: h.status, headers: shared, chunked: framing == .chunked, file: file,
                                  vary: VaryKey(responseHeaders: h.headers, request: request.headers),
                                  notStoredReason: fill.isStoring ? nil : fill.notStoredReason, holding: fill.spoolReservation)
            stream = s
            onStreamReady(s)
        }
        var response = Response(status: h.status, headers: headers)
        response.carriesDate = carriesDate
        if !clientGone { sink.start(response) }
    }

    private func relayBody(_ b: [UInt8]) {
        if let fill {
            fill.append(b, readers: stream != nil)
            if let stream {
                if fill.isWriting { stream.appended(total: fill.bytesWritten) }
                else if fill.spilled { relayPastSpool(b, stream) }
                else { stream.fail() }
            }
        }
        if clientGone { return }
        sink.write(framing == .chunked ? ChunkedEncoder.chunk(b) : b)
        if sink.isCongested, let c = connection {
            c.pauseReading()
            sink.onDrain = { [weak c] in c?.resumeReading() }
        }
    }

    /// A spool past its budget: the readers so far get the rest from the
    /// body's bounded tail, the others are handed over once (`onSpoolRefused`:
    /// a fetch of their own each, as for a known length over the budget). The
    /// origin is paused while the tail is full (resumed by the readers).
    private func relayPastSpool(_ b: [UInt8], _ stream: StreamingBody) {
        if !stream.isSpilled {
            stream.spill(fileEnd: fill?.spilledAt ?? 0)
            onSpoolRefused?()
        }
        let me = WorkerBound(self)
        let room = stream.appendTail(b) { [poster = loop.poster] in poster.post { me.value.connection?.resumeReading() } }
        if !room { connection?.pauseReading() }
    }

    private func relayEnd() {
        timer?.cancel()
        if let outcome = intercepted {
            keepOrCloseConnection()
            return finish(outcome)
        }
        if framing == .chunked && !clientGone { sink.write(ChunkedEncoder.end) }
        // The whole body is in the file: waiters reading it finish, whether or
        // not the store keeps it (it may be over the cache's share for one object).
        if fill?.isWriting == true || fill?.spilled == true { stream?.complete() }
        let stored = fill?.commit()
        let status = parser.head?.status ?? 0
        keepOrCloseConnection()
        // An origin error not stored counts as a failure for coalesced waiters:
        // they get an error (or stale) rather than each asking the failing origin again.
        finish(stored.map { .stored($0) } ?? (HTTPCacheRules.isServerError(status) ? .failed : .notStored))
        if !clientGone { sink.finish() }
    }

    /// The response is complete: the connection goes back to the idle pool
    /// when the backend keeps it alive, else it is closed.
    private func keepOrCloseConnection() {
        if let c = connection, parser.head?.keepAlive == true, !parser.sawExcessData, let i = backend {
            worker.idle.put(c, pool: route.pool.name, backend: i, now: loop.now, keepaliveNanos: config.keepaliveTimeoutNanos)
        } else {
            connection?.close()
        }
        connection = nil
        releaseBackend()
    }
}
