import CapuchinSystem
import HTTPCore

/// One client's HTTP/1.1 conversation without the socket: bytes in
/// (`receive`), requests framed and sent through the request pipeline,
/// responses out in request order (`output`, written by `service` through a
/// `Transport`). The event loop owns the descriptor; the in-memory test
/// harness drives the same code with a manual clock and a memory transport.
///
/// Ordering is one explicit state: `output` holds every answered byte not yet
/// taken by the transport, in request order; `deferred` is the response to the
/// oldest unanswered request when a handler deferred it. While it is set no
/// later request is parsed, so what the sink produces is appended to `output`
/// in place, and parsing resumes when it ends (`parsePaused`).
final class HTTP1Connection {
    enum Phase { case open, lingering, closed }
    enum CloseKind { case orderly, reset }
    /// What the event loop does after `service`.
    enum ServiceOutcome: Equatable {
        /// Everything written: read again.
        case idle
        /// The transport took only part: wait for writability (and stop reading).
        case waitingForWritable
        /// Half-closed: keep reading (and discarding) until the client closes or time runs out.
        case lingering
        case close(reset: Bool)
    }

    /// Responses per batch and bytes per batch before the output is written and
    /// parsing goes on (a pipelining client cannot make one batch unbounded).
    static let batchLimitResponses = 64
    static let batchLimitBytes = 256 << 10
    /// Pipelined input kept while a deferred response is pending.
    static let maxDeferredInput = 1 << 20
    /// Unsent output past which a streaming deferred response is congested.
    static let congestionBytes = 256 << 10

    let info: ConnectionInfo
    let pipeline: RequestPipeline
    /// Strong and `let`: a `let` of the connection is read without a retain
    /// (an `unowned(unsafe)` one was retained at every use).
    let environment: ConnectionEnvironment
    /// The event loop's key for this connection's socket.
    var token: UInt64 = 0
    /// Listed in the environment's service list.
    var queuedForService = false

    /// Unparsed bytes: a partial head, or pipelined requests waiting for output to drain.
    private(set) var input: [UInt8] = []
    /// Everything answered and not yet taken by the transport, in request order.
    var output = OutputQueue()
    /// The transport refused bytes: nothing is read until `output` drains (backpressure).
    private(set) var outputBlocked = false
    /// The response a plugin deferred; later requests wait for it.
    var deferred: ResponseSink?
    /// A full batch or a deferral stopped parsing with complete requests possibly left in `input`.
    private var parsePaused = false
    /// Responses added to `output` since it was last written (the batch limit).
    var responsesInBatch = 0
    /// `drive` is running: deferred completions need no service request of their own.
    var inDrive = false
    private(set) var phase = Phase.open
    /// Close once `output` is written; `lingerOnClose`: the client may still be sending.
    var closeWhenDone = false
    var lingerOnClose = false
    /// Close at the next service, without writing what is queued.
    private(set) var pendingClose: CloseKind?

    private(set) var served = 0
    /// The last request's context, reused for the next one when nothing kept
    /// it (a deferred response or a plugin would): one allocation less a request.
    private var spareContext: RequestContext?
    private var bodyRemaining = 0
    private var chunked: ChunkedDecoder?
    /// When the first byte of the current unfinished head arrived (0: none yet).
    private var headStarted: UInt64 = 0
    private(set) var lastActivity: UInt64

    init(info: ConnectionInfo, pipeline: RequestPipeline, environment: ConnectionEnvironment) {
        self.info = info
        self.pipeline = pipeline
        self.environment = environment
        lastActivity = environment.now
    }

    var isReadingBody: Bool { bodyRemaining > 0 || chunked != nil }

    /// Nothing in flight: no partial request, body, output or deferred response.
    var isIdle: Bool {
        input.isEmpty && output.isEmpty && !isReadingBody && headStarted == 0 && phase == .open && deferred == nil
    }

    // MARK: input

    /// Bytes read from the client (valid only during the call). Returns true when
    /// the connection must be serviced now rather than at the end of the loop
    /// iteration (a full batch, or it is closing); otherwise any output was queued
    /// for the end-of-iteration flush.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lastActivity = environment.now
        if phase != .open || pendingClose != nil { return false }
        if deferred != nil && input.count > Self.maxDeferredInput { pendingClose = .orderly; return true }
        if input.isEmpty {
            let used = drive(bytes)
            if used < bytes.count && !closeWhenDone { input.append(contentsOf: bytes[used...]) }
        } else {
            input.append(contentsOf: bytes)
            // The parser restarts from the head's first byte: re-run it only when a
            // line ended (or the limits may have been passed), so a client sending a
            // byte at a time costs O(n), not O(n^2).
            if headStarted != 0 && !isReadingBody && !memoryContains(bytes, byte: 10)
                && input.count <= environment.parser.limits.maxRequestLine {
                return false
            }
            let used = input.withUnsafeBytes { drive($0) }
            consumeInput(used)
        }
        if pendingClose != nil || closeWhenDone || responsesInBatch >= Self.batchLimitResponses { return true }
        if !output.isEmpty { environment.requestService(self) }
        return false
    }

    private func consumeInput(_ used: Int) {
        if closeWhenDone || used >= input.count { input = [] } else if used > 0 { input.removeFirst(used) }
    }

    /// Parses and answers complete requests in `bytes`; returns bytes consumed.
    private func drive(_ bytes: UnsafeRawBufferPointer) -> Int {
        if output.isEmpty && output.bufferCapacity == 0 { environment.lendQueue(to: &output) }
        var off = 0
        inDrive = true
        parsePaused = false
        defer { inDrive = false }
        while off < bytes.count && !closeWhenDone {
            if bodyRemaining > 0 {
                let k = min(bodyRemaining, bytes.count - off)
                let d = deferred
                d?.deliverBody(UnsafeRawBufferPointer(rebasing: bytes[off..<(off + k)]))
                off += k
                bodyRemaining -= k
                if bodyRemaining == 0 { d?.bodyEnded() }
                continue
            }
            if chunked != nil {
                do {
                    let d = deferred
                    off += try chunked!.decode(UnsafeRawBufferPointer(rebasing: bytes[off...])) { d?.deliverBody($0) }
                    if chunked!.isComplete { chunked = nil; d?.bodyEnded() }
                } catch {
                    // The response is already queued; the body cannot be framed or is too big.
                    chunked = nil
                    if let d = deferred {
                        // The handler waits for a body that will not come: answer 400 instead.
                        deferred = nil
                        d.cancel()
                        respondToBadRequest(status: 400)
                        return bytes.count
                    }
                    closeWhenDone = true
                    lingerOnClose = true
                    return bytes.count
                }
                continue
            }
            if deferred != nil || responsesInBatch >= Self.batchLimitResponses || output.buffer.count >= Self.batchLimitBytes {
                parsePaused = true
                break
            }
            switch environment.parser.parse(UnsafeRawBufferPointer(rebasing: bytes[off...]), fieldStorage: &environment.spareFields) {
            case .incomplete:
                if headStarted == 0 { headStarted = environment.now }
                return off
            case .invalid(let e):
                headStarted = 0
                respondToBadRequest(status: e.status)
                return bytes.count
            case .complete(let request, let consumed):
                off += consumed
                headStarted = 0
                answer(request)
                // Its field storage back for the next head (shared with a handler that kept
                // the fields, emptying it allocates anew: nothing the handler sees changes).
                environment.spareFields = (consume request).headers
                environment.spareFields.removeAll(keepingCapacity: true)
            }
        }
        return off
    }

    // MARK: answering

    private func respondToBadRequest(status: Int) {
        closeWhenDone = true
        lingerOnClose = true
        let r = ErrorPage.response(status)
        let dateLine = environment.dates.headerLine
        output.appendOwned { ResponseHeadWriter.write(r, into: &$0, dateLine: dateLine, keepAlive: false, http10: false) }
        output.append(r.body)
        responsesInBatch += 1
        environment.counters.countRequest(bytes: r.body.count)
        environment.accessLog?.recordRefused(peer: info.peerAddress, status: status, bytes: r.body.count,
                                             stamp: environment.dates.logStamp)
    }

    private func answer(_ request: HTTPRequest) {
        served += 1
        // The settings and the context are borrowed, not retained, for the
        // request: the environment's settings change only between loop
        // iterations, and `spareContext` holds the context until the next
        // request's `context` (a plugin keeping it retains it itself).
        environment.withSettings { settings in
            let env = environment
            context(site: pipeline.site(for: request, in: settings), startNanos: env.now, settings: settings,
                    receivedByNanos: env.receivedBy)._withUnsafeGuaranteedRef { answer(request, $0, settings) }
        }
    }

    @inline(__always)
    private func answer(_ request: HTTPRequest, _ ctx: RequestContext, _ settings: RuntimeSettings) {
        let env = environment
        ctx.client = self
        ctx.loop = env.eventLoop
        var tooLarge = false
        switch request.framing {
        case .none: break
        case .contentLength(let n):
            if n > settings.config.maxRequestBody { tooLarge = true } else { bodyRemaining = n }
        case .chunked:
            var limits = ChunkedLimits()
            limits.maxBodyBytes = settings.config.maxRequestBody
            chunked = ChunkedDecoder(limits: limits)
        }
        if tooLarge {
            var response = ErrorPage.response(413)
            return finishAnswer(request, ctx, &response, keepAlive: false, forceClose: true)
        }
        let keepAlive = request.keepAlive && served < settings.config.keepaliveRequests && !env.draining
        let result = pipeline.produce(request, ctx)
        ctx.client = nil  // a context kept past the handlers must not reach a closed connection
        // Consumed: a response bound from a result still alive was copied (a
        // retain of each of its references) and the result destroyed after.
        switch consume result {
        case .respond(var response):
            finishAnswer(request, ctx, &response, keepAlive: keepAlive, forceClose: false)
        case .deferred(let sink):
            attach(sink, request, ctx, keepAlive: keepAlive)
        case .pass:
            var response = ErrorPage.response(404)
            finishAnswer(request, ctx, &response, keepAlive: keepAlive, forceClose: false)
        }
    }

    /// The request's context, held by `spareContext` (returned unretained).
    private func context(site: Site, startNanos: UInt64, settings: RuntimeSettings, receivedByNanos: UInt64) -> Unmanaged<RequestContext> {
        if spareContext != nil && isKnownUniquelyReferenced(&spareContext!) {
            let ctx = Unmanaged.passUnretained(spareContext!)
            ctx._withUnsafeGuaranteedRef {
                $0.reset(site: site, startNanos: startNanos, settings: settings, receivedByNanos: receivedByNanos)
            }
            return ctx
        }
        let ctx = RequestContext(connection: info, site: site, startNanos: startNanos, settings: settings,
                                 receivedByNanos: receivedByNanos)
        spareContext = ctx
        return Unmanaged.passUnretained(ctx)
    }

    /// Filters, then the head and body into `output`, counters and the log stage.
    @inline(__always)
    func finishAnswer(_ request: HTTPRequest, _ ctx: RequestContext, _ response: inout Response, keepAlive: Bool, forceClose: Bool) {
        pipeline.filter(request, &response, ctx)
        environment.accessLog?.noteCacheVerdict(of: response, in: ctx)
        if !keepAlive {
            closeWhenDone = true
            lingerOnClose = forceClose || (request.keepAlive && !environment.draining)
        }
        let sendBody = !request.isHead && !ResponseHeadWriter.statusForbidsBody(response.status)
        let dateLine = environment.dates.headerLine
        output.appendOwned {
            ResponseHeadWriter.write(response, into: &$0, dateLine: dateLine, keepAlive: keepAlive, http10: request.version == .http10)
        }
        let bodyBytes = sendBody ? response.body.count : 0
        if sendBody { output.append(response.body) }
        responsesInBatch += 1
        recordAnswer(request, ctx, status: response.status, bytes: bodyBytes)
    }

    /// The log stage: counters, the access log line and the plugins' `requestDone`.
    @inline(__always)
    func recordAnswer(_ request: HTTPRequest, _ ctx: RequestContext, status: Int, bytes: Int) {
        let env = environment
        env.counters.countRequest(bytes: bytes)
        env.accessLog?.record(request, ctx, peer: info.peerAddress, status: status, bytes: bytes, stamp: env.dates.logStamp)
        pipeline.requestDone(request, status: status, bytes: bytes, ctx)
    }

    // MARK: output

    /// Writes `output` through `transport` (`writable`: the loop saw the socket
    /// writable); once it is all written, answers what a full batch or a finished
    /// deferral left unparsed, and applies the close decided for the connection.
    func service<T: Transport>(_ transport: inout T, writable: Bool) -> ServiceOutcome {
        queuedForService = false
        if let kind = pendingClose { return .close(reset: kind == .reset) }
        guard phase == .open else { return phase == .lingering ? .lingering : .close(reset: false) }
        if outputBlocked && !writable { return .waitingForWritable }
        while true {
            if !output.isEmpty {
                // Nothing is appended once the connection is to close with no deferred answer.
                if closeWhenDone && deferred == nil { transport.closesAfter(bytes: output.pendingBytes) }
                do {
                    if try output.flush(to: &transport) == .blocked {
                        lastActivity = environment.now
                        outputBlocked = true
                        responsesInBatch = 0
                        output.compactIfWasteful()
                        return .waitingForWritable
                    }
                } catch {
                    output.reset()
                    return .close(reset: false)
                }
                lastActivity = environment.now
            }
            if outputBlocked {
                outputBlocked = false
                if let d = deferred {
                    // A streaming source paused on congestion may go on (and append more).
                    d.drained()
                    if let kind = pendingClose { return .close(reset: kind == .reset) }
                    if !output.isEmpty { continue }
                }
            }
            let stoppedForLimit = responsesInBatch >= Self.batchLimitResponses
            responsesInBatch = 0
            // A deferred response still streaming is part of what must be written first.
            if closeWhenDone && deferred == nil {
                guard lingerOnClose, !environment.draining else { return .close(reset: false) }
                // Lingering close: the client may still be sending; closing with unread
                // data would reset the connection and could destroy the response.
                transport.shutdownOutput()
                phase = .lingering
                input = []
                lastActivity = environment.now
                return .lingering
            }
            guard deferred == nil, parsePaused || stoppedForLimit, !input.isEmpty else {
                environment.recycle(&output)
                return .idle
            }
            let used = input.withUnsafeBytes { drive($0) }
            consumeInput(used)
            if let kind = pendingClose { return .close(reset: kind == .reset) }
        }
    }

    /// The deferred response must be abandoned with the connection reset, at the next service.
    func requestReset() {
        pendingClose = .reset
        environment.requestService(self)
    }

    // MARK: lifecycle

    /// How long a lingering close waits for the client to finish sending.
    static let lingerNanos: UInt64 = 2_000_000_000

    /// The configured timeouts in nanoseconds.
    struct Timeouts {
        var header: UInt64, keepAlive: UInt64, write: UInt64, linger: UInt64

        init(_ c: ServerConfig) {
            header = UInt64(c.headerTimeout * 1e9)
            keepAlive = UInt64(c.keepaliveTimeout * 1e9)
            write = UInt64(c.writeTimeout * 1e9)
            linger = HTTP1Connection.lingerNanos
        }
    }

    /// Whether the connection was quiet too long for what it is doing.
    func hasTimedOut(now: UInt64, _ t: Timeouts) -> Bool {
        // A deferred response: the plugin bounds its own wait.
        if deferred != nil && !outputBlocked { return false }
        let idleFor = now &- lastActivity
        if phase == .lingering { return idleFor > t.linger }
        if outputBlocked { return idleFor > t.write }
        if headStarted != 0 { return now &- headStarted > t.header }
        if isReadingBody || served == 0 { return idleFor > t.header }
        return idleFor > t.keepAlive
    }

    /// SIGTERM: true when it can close now; else it closes after its current response.
    func beginDrain() -> Bool {
        if isIdle { return true }
        closeWhenDone = true
        return false
    }

    /// The loop closed the socket: cancel a deferred response, tell the plugins.
    func didClose() {
        guard phase != .closed else { return }
        phase = .closed
        output = OutputQueue()
        input = []
        if let d = deferred {
            deferred = nil
            d.cancel()
        }
        pipeline.connectionClosed(info)
    }
}
