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
    private static let readCapacity = 64 << 10
    private static let batchLimitBytes = 256 << 10
    private static let batchLimitResponses = 64
    private static let lingerNanos: UInt64 = 2_000_000_000
    private static let sweepNanos: UInt64 = 250_000_000

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
    private var accessLines: [UInt8] = []
    private var serial: UInt64 = 0
    private var reserveFD: Int32 = -1
    private var now: UInt64 = 0
    private var lastSweep: UInt64 = 0
    private var lastDescriptorWarning: UInt64 = 0
    private var draining = false
    private var drainDeadline: UInt64 = 0
    private var counters: WorkerCounters { mailbox.counters }

    /// Throws `SystemError` when epoll cannot be created or a listener registered.
    init(id: Int, core: ServerCore, mailbox: WorkerMailbox, listeners: [Listener]) throws {
        self.id = id
        self.core = core
        self.mailbox = mailbox
        self.listeners = listeners
        epoll = try Epoll(capacity: 256)
        (settings, generation) = core.settings.snapshot()
        readBuffer = .allocate(byteCount: Self.readCapacity, alignment: 16)
        batch.inlineFileLimit = settings.config.sendfileThreshold
        try epoll.add(mailbox.wake.fd, events: Epoll.readable, token: Self.wakeToken)
        for (i, l) in listeners.enumerated() {
            try epoll.add(l.fd, events: Epoll.readable, token: Self.listenerTag | UInt64(i))
        }
        reserveFD = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    deinit {
        readBuffer.deallocate()
        if reserveFD >= 0 { FileIO.close(reserveFD) }
    }

    // MARK: loop

    func run() {
        for p in core.plugins { p.workerStarted(workerID: id) }
        now = Clock.monotonicNanos()
        dates.refresh()
        while true {
            let n: Int
            do { n = try epoll.wait(timeoutMillis: 250) } catch {
                core.log.error("worker \(id): \(error)")
                break
            }
            now = Clock.monotonicNanos()
            dates.refresh()
            for i in 0..<n {
                let (events, token) = epoll.event(at: i)
                if token & Self.listenerTag != 0 {
                    acceptAll(Int(token & 0xffff))
                } else if token == Self.wakeToken {
                    mailbox.wake.drain()
                    for h in mailbox.take() { adopt(h.fd, localPort: h.localPort, pluginIndex: h.pluginIndex) }
                } else {
                    connectionEvent(events, token)
                }
            }
            if now &- lastSweep >= Self.sweepNanos || n == 0 { sweep() }
            if draining && (connectionCount == 0 || now >= drainDeadline) { break }
        }
        for p in core.plugins { p.workerStopping(workerID: id) }
        for c in connections.compactMap({ $0 }) { close(c, reset: c.hasPending) }
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
        let token = UInt64(UInt32(bitPattern: fd)) | (serial & 0x3fff_ffff) << 32
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
        finishBatch(c)
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
        if !c.input.isEmpty {
            let used = c.input.withUnsafeBytes { drive(c, $0) }
            consumeInput(c, used)
            finishBatch(c)
        }
    }

    /// Writes the batch built for `c`; what the socket does not take stays with the connection.
    private func finishBatch(_ c: Connection) {
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
        while off < bytes.count && !c.closeWhenDone {
            if c.bodyRemaining > 0 {
                let k = min(c.bodyRemaining, bytes.count - off)
                off += k
                c.bodyRemaining -= k
                continue
            }
            if c.chunked != nil {
                do {
                    off += try c.chunked!.decode(UnsafeRawBufferPointer(rebasing: bytes[off...])) { _ in }
                    if c.chunked!.isComplete { c.chunked = nil }
                } catch {
                    // The response is already queued; the body cannot be framed or is too big.
                    c.chunked = nil
                    c.closeWhenDone = true
                    c.serverClosing = true
                    return bytes.count
                }
                continue
            }
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
        if core.accessLog != nil { logAccess(c, requestLine: nil, status: status, bytes: r.body.count, referer: nil, agent: nil) }
    }

    private func answer(_ request: HTTPRequest, on c: Connection) {
        c.served += 1
        let cfg = settings.config
        let site = c.pluginIndex == nil ? settings.sites.select(host: request.host) : settings.sites.defaultSite
        let ctx = RequestContext(connection: c.info, site: site, startNanos: now, settings: settings)
        var forceClose = false
        var response: Response

        switch request.framing {
        case .none: break
        case .contentLength(let n):
            if n > cfg.maxRequestBody { forceClose = true } else { c.bodyRemaining = n }
        case .chunked:
            var limits = ChunkedLimits()
            limits.maxBodyBytes = cfg.maxRequestBody
            c.chunked = ChunkedDecoder(limits: limits)
        }

        if forceClose {
            response = ErrorPage.response(413)
        } else if let p = c.pluginIndex {
            let plugin = core.plugins[p]
            response = plugin.requestParsed(request, context: ctx) ?? plugin.handle(request, context: ctx) ?? ErrorPage.response(404)
            plugin.filter(request, response: &response, context: ctx)
        } else {
            response = produce(request, ctx)
            for plugin in core.publicPlugins { plugin.filter(request, response: &response, context: ctx) }
        }

        let keepAlive = request.keepAlive && !forceClose && c.served < cfg.keepaliveRequests && !draining
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
        counters.countRequest(bytes: bodyBytes)
        if core.accessLog != nil {
            logAccess(c, requestLine: "\(request.method) \(request.target) \(request.version.text)", status: response.status,
                      bytes: bodyBytes, referer: request.headers["Referer"], agent: request.headers["User-Agent"])
        }
        if let p = c.pluginIndex {
            core.plugins[p].requestDone(request, status: response.status, bytes: bodyBytes, context: ctx)
        } else {
            for plugin in core.publicPlugins { plugin.requestDone(request, status: response.status, bytes: bodyBytes, context: ctx) }
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

    private func logAccess(_ c: Connection, requestLine: String?, status: Int, bytes: Int, referer: String?, agent: String?) {
        accessLines.append(contentsOf: c.info.peerAddress.utf8)
        accessLines.append(contentsOf: " - - ".utf8)
        accessLines.append(contentsOf: dates.logStamp)
        accessLines.append(contentsOf: " \"".utf8)
        appendEscaped(requestLine ?? "-")
        accessLines.append(contentsOf: "\" ".utf8)
        ResponseHeadWriter.appendDecimal(status, to: &accessLines)
        accessLines.append(32)
        ResponseHeadWriter.appendDecimal(bytes, to: &accessLines)
        accessLines.append(contentsOf: " \"".utf8)
        appendEscaped(referer ?? "-")
        accessLines.append(contentsOf: "\" \"".utf8)
        appendEscaped(agent ?? "-")
        accessLines.append(contentsOf: "\"\n".utf8)
        if accessLines.count >= 32 << 10 { flushAccessLog() }
    }

    /// Quotes, backslashes and control bytes become \xHH so a line cannot be forged.
    private func appendEscaped(_ s: String) {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        for b in s.utf8 {
            if b < 0x20 || b == 0x7f || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                accessLines.append(contentsOf: [92, 120, hex[Int(b >> 4)], hex[Int(b & 15)]])
            } else {
                accessLines.append(b)
            }
        }
    }

    private func flushAccessLog() {
        guard !accessLines.isEmpty, let w = core.accessLog else { return }
        w.submit(accessLines)
        accessLines = []
        accessLines.reserveCapacity(32 << 10 + 1024)
    }
}
