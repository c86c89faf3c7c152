import CapuchinSystem
import Glibc
import HTTPCore

/// One event-loop thread with its own epoll instance, connections and buffers.
/// Nothing here is shared with other workers on the request path.
final class Worker {
    struct Listener {
        var fd: Int32
        var port: Int
        var pluginIndex: Int?
        var paused = false
    }

    private static let listenerTag: UInt64 = 1 << 63
    private static let wakeToken: UInt64 = 1 << 62
    /// Outbound (plugin) connections: tag | serial << 32 | fd.
    private static let outboundTag: UInt64 = 1 << 61
    /// Unsent client output past which a streaming deferred response is congested.
    private static let congestionBytes = 256 << 10
    private static let readCapacity = 64 << 10
    private static let batchLimitBytes = 256 << 10
    private static let batchLimitResponses = 64
    private static let maxSpareQueues = 64
    private static let maxSpareQueueBytes = 16 << 10
    private static let lingerNanos: UInt64 = 2_000_000_000
    private static let sweepNanos: UInt64 = 250_000_000
    /// Pipelined input kept while a deferred response is pending.
    private static let maxDeferredInput = 1 << 20

    let id: Int
    let core: ServerCore
    let mailbox: WorkerMailbox
    private let epoll: Epoll
    private var listeners: [Listener]
    private var connections: [Connection?] = []
    private var connectionCount = 0
    private var settings: RuntimeSettings
    private var generation: Int
    private let readBuffer: UnsafeMutableRawPointer
    private var batch = OutputQueue()
    private var batchResponses = 0
    private var dates = DateCache()
    // [service] access-log lines by file, formatted here, written by the writer thread.
    private let accessLog: AccessLogBuffer?
    private var serial: UInt64 = 0
    private var reserveFD: Int32 = -1
    private var now: UInt64 = 0
    /// Precise time of the current loop iteration's start: every request it
    /// answers had arrived by then (the file cache orders its checks by it).
    private var batchStart: UInt64 = 0
    private var lastSweep: UInt64 = 0
    private var lastDescriptorWarning: UInt64 = 0
    private var draining = false
    private var drainDeadline: UInt64 = 0
    private var counters: WorkerCounters { mailbox.counters }
    /// The plugins' handle on this loop (outbound connections, timers).
    let loop: EventLoop
    var timers = TimerQueue()
    private var outbound: [OutboundConnection?] = []
    private var outboundSerial: UInt64 = 0
    /// Connections whose deferred response completed outside `drive`: their
    /// pipelined input is parsed at the end of the loop iteration.
    private var resumeQueue: [Connection] = []
    /// Connections whose responses from this iteration's reads wait to be
    /// written together after every ready socket was read (see `deferBatch`).
    private var flushList: [Connection] = []
    /// Emptied output queues kept with their capacity for the next deferral.
    private var spareQueues: [OutputQueue] = []
    /// The connection `drive` is parsing for (deferred completions during it
    /// append to the batch so responses stay in order).
    private unowned(unsafe) var driving: Connection?
    var loopNow: UInt64 { now }

    /// Throws `SystemError` when epoll cannot be created or a listener registered.
    init(id: Int, core: ServerCore, mailbox: WorkerMailbox, listeners: [Listener]) throws {
        self.id = id
        self.core = core
        self.mailbox = mailbox
        self.listeners = listeners
        loop = EventLoop(workerID: id, poster: LoopPoster(mailbox: mailbox))
        epoll = try Epoll(capacity: 256)
        (settings, generation) = core.settings.snapshot()
        readBuffer = .allocate(byteCount: Self.readCapacity, alignment: 16)
        accessLog = core.accessLog.map { AccessLogBuffer(writer: $0) }
        batch.inlineFileLimit = settings.config.sendfileThreshold
        try epoll.add(mailbox.wake.fd, events: Epoll.readable, token: Self.wakeToken)
        for (i, l) in listeners.enumerated() {
            try epoll.add(l.fd, events: Epoll.readable, token: Self.listenerTag | UInt64(i))
        }
        reserveFD = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        loop.worker = self
    }

    deinit {
        readBuffer.deallocate()
        if reserveFD >= 0 { FileIO.close(reserveFD) }
    }

    // MARK: loop

    func run() {
        now = Clock.monotonicNanos()
        for p in core.plugins { p.workerStarted(workerID: id, loop: loop) }
        dates.refresh()
        while true {
            let n: Int
            var wait: Int32 = 250
            if let next = timers.nextDeadline {
                let now = Clock.monotonicNanos()
                wait = next <= now ? 0 : Int32(min(250, (next - now + 999_999) / 1_000_000))
            }
            do { n = try epoll.wait(timeoutMillis: wait) } catch {
                core.log.error("worker \(id): \(error)")
                break
            }
            now = Clock.monotonicNanos()
            batchStart = Clock.preciseMonotonicNanos()
            dates.refresh()
            for i in 0..<n {
                let (events, token) = epoll.event(at: i)
                if token & Self.listenerTag != 0 {
                    acceptAll(Int(token & 0xffff))
                } else if token == Self.wakeToken {
                    mailbox.wake.drain()
                    for h in mailbox.take() { adopt(h.fd, localPort: h.localPort, pluginIndex: h.pluginIndex) }
                    for task in mailbox.takeTasks() { task() }
                } else if token & Self.outboundTag != 0 {
                    outboundEvent(events, token)
                } else {
                    connectionEvent(events, token)
                }
            }
            if !flushList.isEmpty { flushDeferredBatches() }
            if !timers.isEmpty { TimerQueue.fire(timers.takeDue(now: Clock.monotonicNanos())) }
            if !resumeQueue.isEmpty { resumeDeferred() }
            if now &- lastSweep >= Self.sweepNanos || n == 0 { sweep() }
            if draining && (connectionCount == 0 || now >= drainDeadline) { break }
        }
        for p in core.plugins { p.workerStopping(workerID: id) }
        for c in connections.compactMap({ $0 }) { close(c, reset: c.hasPending) }
        for o in outbound.compactMap({ $0 }) { closeOutbound(o, error: nil, notify: false) }
        loop.worker = nil
        flushAccessLog()
        for l in listeners { epoll.remove(l.fd); FileIO.close(l.fd) }
        listeners.removeAll()
    }

    private func sweep() {
        lastSweep = now
        if core.settings.generation != generation {
            (settings, generation) = core.settings.snapshot()
            batch.inlineFileLimit = settings.config.sendfileThreshold
        }
        if !draining && core.stopping.load(ordering: .relaxed) { startDrain() }
        flushAccessLog()
        for i in listeners.indices where listeners[i].paused && !draining {
            if (try? epoll.add(listeners[i].fd, events: Epoll.readable, token: Self.listenerTag | UInt64(i))) != nil {
                listeners[i].paused = false
            }
        }
        let c = settings.config
        let header = UInt64(c.headerTimeout * 1e9), keepalive = UInt64(c.keepaliveTimeout * 1e9), write = UInt64(c.writeTimeout * 1e9)
        for conn in connections {
            guard let conn else { continue }
            // A deferred response: the plugin bounds its own wait.
            if conn.deferred != nil && !conn.hasPending { continue }
            let idleFor = now &- conn.lastActivity
            let expired: Bool
            if conn.phase == .lingering { expired = idleFor > Self.lingerNanos }
            else if conn.hasPending { expired = idleFor > write }
            else if conn.headStarted != 0 { expired = now &- conn.headStarted > header }
            else if conn.bodyRemaining > 0 || conn.chunked != nil { expired = idleFor > header }
            else if conn.served == 0 { expired = idleFor > header }
            else { expired = idleFor > keepalive }
            if expired {
                if core.log.enabled(.debug) { core.log.debug("worker \(id): closing \(conn.info.peerAddress):\(conn.info.peerPort) on timeout") }
                close(conn, reset: conn.hasPending)
            }
        }
    }

    private func startDrain() {
        draining = true
        drainDeadline = now &+ UInt64(settings.config.drainTimeout * 1e9)
        for l in listeners { epoll.remove(l.fd); FileIO.close(l.fd) }
        listeners.removeAll()
        for conn in connections {
            guard let conn else { continue }
            if conn.isIdle { close(conn) } else { conn.closeWhenDone = true }
        }
    }

    // MARK: accepting

    private func acceptAll(_ index: Int) {
        guard index < listeners.count, !listeners[index].paused else { return }
        let l = listeners[index]
        for _ in 0..<64 {
            do {
                switch try Socket.accept(l.fd) {
                case .wouldBlock: return
                case .processed(let fd): adopt(fd, localPort: l.port, pluginIndex: l.pluginIndex)
                }
            } catch let e as SystemError where e.errno == EMFILE || e.errno == ENFILE {
                shedOneConnection(index)
                return
            } catch {
                continue  // ECONNABORTED and the like: the next one may be fine
            }
        }
    }

    /// Out of descriptors: free the reserve, accept and close one pending
    /// connection so the listener stops firing, then take the reserve back. With
    /// no reserve, pause the listener until the next sweep (no busy loop).
    private func shedOneConnection(_ index: Int) {
        if now &- lastDescriptorWarning > 1_000_000_000 {
            lastDescriptorWarning = now
            core.log.warn("worker \(id): out of file descriptors; refusing connections")
        }
        if reserveFD >= 0 {
            FileIO.close(reserveFD)
            if case .processed(let fd)? = try? Socket.accept(listeners[index].fd) { FileIO.close(fd) }
            reserveFD = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        if reserveFD < 0 {
            epoll.remove(listeners[index].fd)
            listeners[index].paused = true
        }
    }

    private func adopt(_ fd: Int32, localPort: Int, pluginIndex: Int?) {
        if draining { FileIO.close(fd); return }
        guard core.reserveConnectionSlot(max: settings.config.maxConnections) else {
            core.log.debug("connection refused: max_connections reached")
            core.refuse(fd)
            return
        }
        Socket.setNoDelay(fd)
        let peer = Socket.peer(of: fd) ?? PeerAddress(host: "-", port: 0)
        serial &+= 1
        let info = ConnectionInfo(id: UInt64(id) << 48 | serial, workerID: id, peerAddress: peer.host, peerPort: peer.port, localPort: localPort)
        for p in core.plugins where !p.connectionAccepted(info) {
            FileIO.close(fd)
            core.releaseConnectionSlot()
            return
        }
        let token = UInt64(UInt32(bitPattern: fd)) | (serial & 0x1fff_ffff) << 32
        let interest = Epoll.readable | Epoll.readHangup
        let c = Connection(fd: fd, token: token, info: info, pluginIndex: pluginIndex, now: now, interest: interest)
        do { try epoll.add(fd, events: interest, token: token) } catch {
            FileIO.close(fd)
            core.releaseConnectionSlot()
            return
        }
        let slot = Int(fd)
        if slot >= connections.count { connections.append(contentsOf: repeatElement(nil, count: slot - connections.count + 64)) }
        connections[slot] = c
        connectionCount += 1
        counters.connectionOpened()
    }

    /// Closes `c`; with `reset`, unsent output is dropped (RST) instead of
    /// lingering in kernel buffers for a client that stopped reading.
    private func close(_ c: Connection, reset: Bool = false) {
        let slot = Int(c.fd)
        guard slot < connections.count, connections[slot] === c else { return }
        epoll.remove(c.fd)
        if reset { Socket.abort(c.fd) } else { FileIO.close(c.fd) }
        connections[slot] = nil
        connectionCount -= 1
        counters.connectionClosed()
        core.releaseConnectionSlot()
        if let d = c.deferred {
            c.deferred = nil
            d.cancel()
        }
        for p in core.plugins { p.connectionClosed(c.info) }
    }

    private func setInterest(_ c: Connection, _ events: UInt32) {
        if c.interest == events { return }
        c.interest = events
        do { try epoll.modify(c.fd, events: events, token: c.token) } catch { close(c) }
    }

    // MARK: connection I/O

    private func connectionEvent(_ events: UInt32, _ token: UInt64) {
        let slot = Int(token & 0xffff_ffff)
        guard slot < connections.count, let c = connections[slot], c.token == token else { return }
        if events & Epoll.writable != 0 {
            onWritable(c)
            guard connections[slot] === c else { return }
        }
        if events & (Epoll.readable | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 {
            onReadable(c)
        }
    }

    private func onReadable(_ c: Connection) {
        if c.hasPending { return }  // backpressure: read again once the output drained
        let n: Int
        do {
            switch try FileIO.read(c.fd, into: readBuffer, count: Self.readCapacity) {
            case .wouldBlock: return
            case .processed(let k): n = k
            }
        } catch {
            close(c)
            return
        }
        if n == 0 { close(c); return }
        c.lastActivity = now
        if c.phase == .lingering { return }
        if c.deferred != nil && c.input.count > Self.maxDeferredInput { close(c); return }
        if c.input.isEmpty {
            let bytes = UnsafeRawBufferPointer(start: readBuffer, count: n)
            let used = drive(c, bytes)
            if used < n && !c.closeWhenDone { c.input.append(contentsOf: bytes[used...]) }
        } else {
            c.input.append(contentsOf: UnsafeRawBufferPointer(start: readBuffer, count: n))
            // The parser restarts from the head's first byte: re-run it only when a
            // line ended (or the limits may have been passed), so a client sending a
            // byte at a time costs O(n), not O(n^2).
            if c.headStarted != 0 && c.bodyRemaining == 0 && c.chunked == nil && memchr(readBuffer, 10, n) == nil
                && c.input.count <= core.parser.limits.maxRequestLine {
                return
            }
            let used = c.input.withUnsafeBytes { drive(c, $0) }
            consumeInput(c, used)
        }
        deferBatch(c)
    }

    private func consumeInput(_ c: Connection, _ used: Int) {
        if c.closeWhenDone || used >= c.input.count { c.input = [] } else if used > 0 { c.input.removeFirst(used) }
    }

    private func onWritable(_ c: Connection) {
        do {
            switch try c.pending.flush(to: c.fd) {
            case .blocked: c.lastActivity = now; return
            case .done: break
            }
        } catch {
            close(c)
            return
        }
        c.lastActivity = now
        c.pending = OutputQueue()
        c.hasPending = false
        if c.closeWhenDone { closeAfterResponse(c); return }
        setInterest(c, Epoll.readable | Epoll.readHangup)
        if let d = c.deferred {
            d.drained()
            guard connections[Int(c.fd)] === c, c.deferred == nil else { return }
        }
        if !c.input.isEmpty {
            let used = c.input.withUnsafeBytes { drive(c, $0) }
            consumeInput(c, used)
            finishBatch(c)
        }
    }

    /// Keeps the batch built for `c` until every socket of this epoll batch was
    /// read, then writes them all (`flushDeferredBatches`): waking the clients
    /// one response at a time, between reads, made each wake-up preempt this
    /// thread. A full batch (more requests waiting) is written at once.
    private func deferBatch(_ c: Connection) {
        guard !batch.isEmpty, c.waitingOutput == nil, batchResponses < Self.batchLimitResponses, !c.closeWhenDone else {
            finishBatch(c)
            return
        }
        var q = spareQueues.popLast() ?? OutputQueue()
        swap(&q, &batch)
        batch.inlineFileLimit = q.inlineFileLimit
        c.waitingOutput = q
        batchResponses = 0
        flushList.append(c)
    }

    private func flushDeferredBatches() {
        let list = flushList
        flushList.removeAll(keepingCapacity: true)
        for c in list where c.waitingOutput != nil {
            guard connections[Int(c.fd)] === c else { c.waitingOutput = nil; continue }
            finishBatch(c)
        }
    }

    /// Writes the batch built for `c` (after any output deferred for it);
    /// what the socket does not take stays with the connection.
    private func finishBatch(_ c: Connection) {
        if var waiting = c.waitingOutput {
            c.waitingOutput = nil
            // The deferred responses come first: move this batch's (if any) behind them.
            if !batch.isEmpty { waiting.appendQueue(batch) }
            swap(&waiting, &batch)
            // Keep a bounded pool of small queues: a burst of large responses must not stay resident.
            if spareQueues.count < Self.maxSpareQueues && waiting.bufferCapacity <= Self.maxSpareQueueBytes {
                waiting.reset()
                spareQueues.append(waiting)
            }
        }
        while true {
            if !batch.isEmpty {
                let outcome: OutputQueue.FlushOutcome
                do { outcome = try batch.flush(to: c.fd) } catch {
                    batch.reset(); batchResponses = 0
                    close(c)
                    return
                }
                if outcome == .blocked {
                    c.pending = batch.remainder()
                    c.hasPending = true
                    batch.reset(); batchResponses = 0
                    setInterest(c, Epoll.writable)
                    return
                }
                batch.reset()
            }
            let stoppedForLimit = batchResponses >= Self.batchLimitResponses
            batchResponses = 0
            if c.closeWhenDone { closeAfterResponse(c); return }
            // A full batch left complete requests unparsed: keep going.
            guard stoppedForLimit, !c.input.isEmpty else { return }
            let used = c.input.withUnsafeBytes { drive(c, $0) }
            consumeInput(c, used)
        }
    }

    private func closeAfterResponse(_ c: Connection) {
        guard c.serverClosing, !draining else { close(c); return }
        // Lingering close: the client may still be sending; closing with unread
        // data would reset the connection and could destroy the response.
        Socket.shutdownWrite(c.fd)
        c.phase = .lingering
        c.input = []
        c.lastActivity = now
        setInterest(c, Epoll.readable | Epoll.readHangup)
    }

    // MARK: requests

    /// Parses and answers complete requests in `bytes`; returns bytes consumed.
    private func drive(_ c: Connection, _ bytes: UnsafeRawBufferPointer) -> Int {
        var off = 0
        driving = c
        defer { driving = nil }
        while off < bytes.count && !c.closeWhenDone {
            if c.bodyRemaining > 0 {
                let k = min(c.bodyRemaining, bytes.count - off)
                let d = c.deferred
                d?.deliverBody(UnsafeRawBufferPointer(rebasing: bytes[off..<(off + k)]))
                off += k
                c.bodyRemaining -= k
                if c.bodyRemaining == 0 { d?.bodyEnded() }
                continue
            }
            if c.chunked != nil {
                do {
                    let d = c.deferred
                    off += try c.chunked!.decode(UnsafeRawBufferPointer(rebasing: bytes[off...])) { d?.deliverBody($0) }
                    if c.chunked!.isComplete { c.chunked = nil; d?.bodyEnded() }
                } catch {
                    // The response is already queued; the body cannot be framed or is too big.
                    c.chunked = nil
                    if let d = c.deferred {
                        // The handler waits for a body that will not come: answer 400 instead.
                        c.deferred = nil
                        d.cancel()
                        respondToBadRequest(c, status: 400)
                        return bytes.count
                    }
                    c.closeWhenDone = true
                    c.serverClosing = true
                    return bytes.count
                }
                continue
            }
            if c.deferred != nil { break }
            if batchResponses >= Self.batchLimitResponses || batch.buffer.count >= Self.batchLimitBytes { break }
            switch core.parser.parse(UnsafeRawBufferPointer(rebasing: bytes[off...])) {
            case .incomplete:
                if c.headStarted == 0 { c.headStarted = now }
                return off
            case .invalid(let e):
                c.headStarted = 0
                respondToBadRequest(c, status: e.status)
                return bytes.count
            case .complete(let request, let consumed):
                off += consumed
                c.headStarted = 0
                answer(request, on: c)
            }
        }
        return off
    }

    private func respondToBadRequest(_ c: Connection, status: Int) {
        c.closeWhenDone = true
        c.serverClosing = true
        let r = ErrorPage.response(status)
        batch.appendOwned { ResponseHeadWriter.write(r, into: &$0, dateLine: dates.headerLine, keepAlive: false, http10: false) }
        batch.append(r.body)
        batchResponses += 1
        counters.countRequest(bytes: r.body.count)
        accessLog?.append(AccessLogRecord(badRequestFrom: c.info.peerAddress, status: status, bytes: r.body.count,
                                          wallMillis: AccessLogBuffer.wallMillis()),
                          site: nil, commonLogStamp: dates.logStamp)
    }

    private func answer(_ request: HTTPRequest, on c: Connection) {
        c.served += 1
        let site = c.pluginIndex == nil ? settings.sites.select(host: request.host) : settings.sites.defaultSite
        let ctx = RequestContext(connection: c.info, site: site, startNanos: now, settings: settings,
                                 receivedByNanos: batchStart)
        ctx.worker = self
        ctx.client = c
        var forceClose = false
        var response: Response

        switch request.framing {
        case .none: break
        case .contentLength(let n):
            if n > settings.config.maxRequestBody { forceClose = true } else { c.bodyRemaining = n }
        case .chunked:
            var limits = ChunkedLimits()
            limits.maxBodyBytes = settings.config.maxRequestBody
            c.chunked = ChunkedDecoder(limits: limits)
        }

        if forceClose {
            response = ErrorPage.response(413)
        } else if let p = c.pluginIndex {
            let plugin = core.plugins[p]
            response = plugin.requestParsed(request, context: ctx) ?? plugin.handle(request, context: ctx) ?? ErrorPage.response(404)
        } else {
            response = produce(request, ctx)
        }

        let keepAlive = request.keepAlive && !forceClose && c.served < settings.config.keepaliveRequests && !draining
        if response.status == 0 {  // Response.deferred
            guard let sink = ctx.sink else {
                core.log.error("a plugin answered 'deferred' without calling deferResponse()")
                response = ErrorPage.response(500)
                return finishAnswer(request, ctx, c, &response, keepAlive: false, forceClose: false)
            }
            sink.keepAlive = keepAlive
            sink.sendBody = !request.isHead
            sink.attached = true
            if sink.earlyAborted {
                sink.release()
                c.closeWhenDone = true
                return
            }
            if sink.earlyStreaming {
                sink.release()
                core.log.error("a plugin streamed a deferred response before handle returned")
                response = ErrorPage.response(500)
                return finishAnswer(request, ctx, c, &response, keepAlive: false, forceClose: false)
            }
            if let early = sink.early {
                sink.release()
                response = early
                let ka = keepAlive && !Self.asksToClose(response)
                return finishAnswer(request, ctx, c, &response, keepAlive: ka, forceClose: false)
            }
            c.deferred = sink
            return
        }
        finishAnswer(request, ctx, c, &response, keepAlive: keepAlive, forceClose: forceClose)
    }

    /// Filters, then the head and body into the batch, counters and logs.
    @inline(__always)
    private func finishAnswer(_ request: HTTPRequest, _ ctx: RequestContext, _ c: Connection, _ response: inout Response,
                              keepAlive: Bool, forceClose: Bool) {
        runFilters(request, &response, ctx, c)
        if accessLog != nil { AccessLogRecord.noteCacheVerdict(of: response, in: ctx) }   // [service]
        if !keepAlive {
            c.closeWhenDone = true
            c.serverClosing = forceClose || (request.keepAlive && !draining)
        }
        let sendBody = !request.isHead && !ResponseHeadWriter.statusForbidsBody(response.status)
        batch.appendOwned {
            ResponseHeadWriter.write(response, into: &$0, dateLine: dates.headerLine, keepAlive: keepAlive, http10: request.version == .http10)
        }
        let bodyBytes = sendBody ? response.body.count : 0
        if sendBody { batch.append(response.body) }
        batchResponses += 1
        recordAnswer(request, ctx, c, status: response.status, bytes: bodyBytes)
    }

    @inline(__always)
    private func runFilters(_ request: HTTPRequest, _ response: inout Response, _ ctx: RequestContext, _ c: Connection) {
        if let p = c.pluginIndex {
            core.plugins[p].filter(request, response: &response, context: ctx)
        } else {
            for plugin in core.publicPlugins { plugin.filter(request, response: &response, context: ctx) }
        }
    }

    @inline(__always)
    private func recordAnswer(_ request: HTTPRequest, _ ctx: RequestContext, _ c: Connection, status: Int, bytes: Int) {
        counters.countRequest(bytes: bytes)
        if let accessLog {   // [service] combined or JSON, per site
            accessLog.append(AccessLogRecord(request: request, context: ctx, client: c.info.peerAddress, status: status, bytes: bytes,
                                             nowNanos: Clock.monotonicNanos(), wallMillis: AccessLogBuffer.wallMillis()),
                             site: ctx.site, commonLogStamp: dates.logStamp)
        }
        if let p = c.pluginIndex {
            core.plugins[p].requestDone(request, status: status, bytes: bytes, context: ctx)
        } else {
            for plugin in core.publicPlugins { plugin.requestDone(request, status: status, bytes: bytes, context: ctx) }
        }
    }

    /// A deferred response's own `Connection: close` (e.g. a close-delimited body).
    private static func asksToClose(_ r: Response) -> Bool {
        r.headers.values("Connection").contains { $0.lowercased().contains("close") }
    }

    // MARK: deferred responses

    /// Whether `c` is still this worker's open connection.
    private func isOpen(_ c: Connection) -> Bool {
        let slot = Int(c.fd)
        return slot < connections.count && connections[slot] === c
    }

    func isCongested(_ c: Connection) -> Bool {
        c.hasPending && c.pending.pendingBytes > Self.congestionBytes
    }

    /// Queues output for a deferred response in order: into the batch while
    /// `drive` runs for `c`, after unsent output, or written at once.
    private func deferredOutput(_ c: Connection, _ build: (inout OutputQueue) -> Void) {
        guard isOpen(c) else { return }
        if driving === c { build(&batch); return }
        if c.waitingOutput != nil { build(&c.waitingOutput!); return }
        if c.hasPending { build(&c.pending); return }
        var q = OutputQueue()
        q.inlineFileLimit = settings.config.sendfileThreshold
        build(&q)
        do {
            if try q.flush(to: c.fd) == .blocked {
                c.pending = q.remainder()
                c.hasPending = true
                setInterest(c, Epoll.writable)
            }
            c.lastActivity = now
        } catch {
            close(c, reset: true)
        }
    }

    private func prepareDeferredHead(_ sink: ResponseSink, _ response: inout Response) -> (keepAlive: Bool, sendBody: Bool) {
        let c = sink.connection
        runFilters(sink.request, &response, sink.context, c)
        if accessLog != nil { AccessLogRecord.noteCacheVerdict(of: response, in: sink.context) }   // [service]
        let keepAlive = sink.keepAlive && !Self.asksToClose(response)
        if !keepAlive {
            c.closeWhenDone = true
            c.serverClosing = sink.request.keepAlive && !draining
        }
        sink.status = response.status
        sink.sendBody = sink.sendBody && !ResponseHeadWriter.statusForbidsBody(response.status)
        return (keepAlive, sink.sendBody)
    }

    func completeDeferred(_ sink: ResponseSink, _ response: Response) {
        let c = sink.connection
        guard isOpen(c), c.deferred === sink else { return }
        var r = response
        let (keepAlive, sendBody) = prepareDeferredHead(sink, &r)
        let http10 = sink.request.version == .http10
        deferredOutput(c) { q in
            q.appendOwned { ResponseHeadWriter.write(r, into: &$0, dateLine: dates.headerLine, keepAlive: keepAlive, http10: http10) }
            if sendBody { q.append(r.body) }
        }
        if driving === c { batchResponses += 1 }
        recordAnswer(sink.request, sink.context, c, status: r.status, bytes: sendBody ? r.body.count : 0)
        endDeferred(sink)
    }

    func startDeferred(_ sink: ResponseSink, _ response: Response) {
        let c = sink.connection
        guard isOpen(c), c.deferred === sink else { return }
        var r = response
        let (keepAlive, _) = prepareDeferredHead(sink, &r)
        let http10 = sink.request.version == .http10
        deferredOutput(c) { q in
            q.appendOwned { ResponseHeadWriter.write(r, into: &$0, dateLine: dates.headerLine, keepAlive: keepAlive, http10: http10, omitLength: true) }
        }
    }

    func writeDeferred(_ sink: ResponseSink, _ bytes: [UInt8]) {
        let c = sink.connection
        guard sink.sendBody, isOpen(c), c.deferred === sink else { return }
        sink.bytesSent += bytes.count
        deferredOutput(c) { $0.appendBytes(bytes) }
    }

    func finishDeferred(_ sink: ResponseSink) {
        let c = sink.connection
        guard isOpen(c), c.deferred === sink else { return }
        if driving === c { batchResponses += 1 }
        recordAnswer(sink.request, sink.context, c, status: sink.status, bytes: sink.bytesSent)
        endDeferred(sink)
    }

    func abortDeferred(_ sink: ResponseSink) {
        let c = sink.connection
        guard isOpen(c), c.deferred === sink else { return }
        c.deferred = nil
        sink.release()
        if driving === c {
            // The batch may hold this connection's earlier responses: send them, then close.
            c.closeWhenDone = true
            c.serverClosing = false
        } else {
            close(c, reset: true)
        }
    }

    /// The deferred response is fully queued: later pipelined requests may run.
    private func endDeferred(_ sink: ResponseSink) {
        let c = sink.connection
        c.deferred = nil
        sink.release()
        // Inside drive the loop goes on by itself; elsewhere resume after this iteration.
        if driving !== c { resumeQueue.append(c) }
    }

    private func resumeDeferred() {
        let queue = resumeQueue
        resumeQueue = []
        for c in queue where isOpen(c) && c.deferred == nil && !c.hasPending {
            if c.closeWhenDone { closeAfterResponse(c); continue }
            if !c.input.isEmpty {
                let used = c.input.withUnsafeBytes { drive(c, $0) }
                consumeInput(c, used)
                finishBatch(c)
            }
        }
    }

    // MARK: outbound connections

    func openOutbound(host: String, port: Int, handler: OutboundHandler) throws -> OutboundConnection {
        let (fd, inProgress) = try Socket.connect(host: host, port: port)
        Socket.setNoDelay(fd)
        outboundSerial &+= 1
        let token = Self.outboundTag | (outboundSerial & 0x1fff_ffff) << 32 | UInt64(UInt32(bitPattern: fd))
        let interest = inProgress ? Epoll.writable : Epoll.readable | Epoll.readHangup
        let o = OutboundConnection(fd: fd, token: token, host: host, port: port, loop: loop, handler: handler, interest: interest)
        do { try epoll.add(fd, events: interest, token: token) } catch {
            FileIO.close(fd)
            throw error
        }
        let slot = Int(fd)
        if slot >= outbound.count { outbound.append(contentsOf: repeatElement(nil, count: slot - outbound.count + 64)) }
        outbound[slot] = o
        if !inProgress {
            o.markConnected()
            // Report on the next pass: the caller has not stored `o` yet.
            loop.schedule(after: 0) { [weak o] in
                guard let o, !o.isClosed else { return }
                o.handler?.outboundConnected(o)
            }
        }
        return o
    }

    func closeOutbound(_ o: OutboundConnection, error: SystemError?, notify: Bool) {
        let slot = Int(o.fd)
        guard !o.isClosed, slot < outbound.count, outbound[slot] === o else { return }
        epoll.remove(o.fd)
        FileIO.close(o.fd)
        outbound[slot] = nil
        let h = o.handler
        o.markClosed()
        if notify { h?.outboundClosed(o, error: error) }
    }

    func updateOutboundInterest(_ o: OutboundConnection) {
        guard !o.isClosed else { return }
        var events: UInt32
        if !o.isConnected { events = Epoll.writable } else {
            events = o.readPaused ? 0 : Epoll.readable | Epoll.readHangup
            if o.unsentBytes > 0 { events |= Epoll.writable }
        }
        if events == o.interest { return }
        o.interest = events
        do { try epoll.modify(o.fd, events: events, token: o.token) } catch let e as SystemError {
            closeOutbound(o, error: e, notify: true)
        } catch {}
    }

    func flushOutbound(_ o: OutboundConnection) {
        do {
            let done = try o.writePending()
            updateOutboundInterest(o)
            if done, !o.isClosed { o.handler?.outboundWritable(o) }
        } catch let e as SystemError {
            closeOutbound(o, error: e, notify: true)
        } catch {}
    }

    private func outboundEvent(_ events: UInt32, _ token: UInt64) {
        let slot = Int(token & 0xffff_ffff)
        guard slot < outbound.count, let o = outbound[slot], o.token == token else { return }
        if !o.isConnected {
            let err = Socket.pendingError(o.fd)
            if err != 0 || events & (Epoll.error | Epoll.hangup) != 0 {
                closeOutbound(o, error: SystemError(call: "connect(\(o.host):\(o.port))", errno: err != 0 ? err : ECONNREFUSED), notify: true)
                return
            }
            o.markConnected()
            updateOutboundInterest(o)
            o.handler?.outboundConnected(o)
            if o.isClosed { return }
            if o.unsentBytes > 0 { flushOutbound(o) }
            return
        }
        if events & Epoll.writable != 0 {
            flushOutbound(o)
            if o.isClosed { return }
        }
        if events & (Epoll.readable | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 && !o.readPaused {
            let n: Int
            do {
                switch try FileIO.read(o.fd, into: readBuffer, count: Self.readCapacity) {
                case .wouldBlock: return
                case .processed(let k): n = k
                }
            } catch let e as SystemError {
                closeOutbound(o, error: e, notify: true)
                return
            } catch { return }
            if n == 0 { closeOutbound(o, error: nil, notify: true); return }
            o.handler?.outboundReadable(o, UnsafeRawBufferPointer(start: readBuffer, count: n))
        }
    }

    /// Plugins in order: an early answer from requestParsed, else the first content handler.
    private func produce(_ request: HTTPRequest, _ ctx: RequestContext) -> Response {
        for plugin in core.publicPlugins {
            if let r = plugin.requestParsed(request, context: ctx) { return r }
        }
        for plugin in core.publicPlugins {
            if let r = plugin.handle(request, context: ctx) { return r }
        }
        return ErrorPage.response(404)
    }

    // MARK: access log

    private func flushAccessLog() { accessLog?.flush() }
}
