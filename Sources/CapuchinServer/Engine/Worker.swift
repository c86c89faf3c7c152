import CapuchinSystem
import CapuchinTLS

/// One event-loop thread: its epoll instance, listeners, client sockets,
/// outbound sockets, timers and mailbox. It knows descriptors, not HTTP: a
/// client's bytes go to its `HTTP1Connection`, whose output the loop writes
/// through the socket's transport at the end of the iteration, after every
/// ready socket was read (see `serviceQueued`). Nothing here is shared with
/// other workers on the request path.
final class Worker {
    typealias Listener = ListenerSocket

    private static let listenerTag: UInt64 = 1 << 63
    private static let wakeToken: UInt64 = 1 << 62
    private static let readCapacity = 64 << 10
    private static let sweepNanos: UInt64 = 250_000_000
    private static let readInterest = Epoll.readable | Epoll.readHangup

    let id: Int
    /// False for the loop of plugins' own listeners (admin): plugins' per-worker
    /// hooks (`workerStarted`, `workerStopping`) run only on serving workers.
    let serving: Bool
    let core: ServerCore
    let mailbox: WorkerMailbox
    /// The plugins' handle on this loop (outbound connections, timers).
    let loop: EventLoop
    var timers = TimerQueue()
    let outbound: OutboundSockets
    private let epoll: Epoll
    private var listeners: [Listener]
    /// Sockets are reached unretained within an iteration (the table's lifetime rule).
    private var clients = DescriptorTable<ClientSocket>(tag: 0, keepsRemoved: true)
    private let environment: ConnectionEnvironment
    private var generation: Int
    private let readBuffer: UnsafeMutableRawPointer
    /// TLS records are gathered and files read here before encryption (`TLSTransport`).
    private let tlsScratch: UnsafeMutableRawPointer
    /// The records of one TLS write, sent with one send(2) (`TLSTransport`).
    private let tlsBatch = TLSRecordBatch()
    private var accepting = ListenerAccepting()
    private var lastSweep: UInt64 = 0
    private var lastDescriptorWarning: UInt64 = 0
    private var drainDeadline: UInt64 = 0
    private var counters: LoopCounters { mailbox.counters }
    var loopNow: UInt64 { environment.now }

    /// Throws `SystemError` when epoll cannot be created or a listener registered.
    init(id: Int, core: ServerCore, mailbox: WorkerMailbox, listeners: [Listener], serving: Bool = true) throws {
        self.id = id
        self.serving = serving
        self.core = core
        self.mailbox = mailbox
        self.listeners = listeners
        let loop = EventLoop(workerID: id, poster: LoopPoster(mailbox: mailbox))
        let epoll = try Epoll(capacity: 256)
        let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: Self.readCapacity, alignment: 16)
        self.loop = loop
        self.epoll = epoll
        self.readBuffer = readBuffer
        tlsScratch = UnsafeMutableRawPointer.allocate(byteCount: TLSTransport.recordBytes, alignment: 16)
        outbound = OutboundSockets(epoll: epoll, loop: loop, readBuffer: readBuffer, readCapacity: Self.readCapacity)
        let settings: RuntimeSettings
        (settings, generation) = core.settings.snapshot()
        environment = ConnectionEnvironment(workerID: id, settings: settings, parser: core.parser, counters: mailbox.counters,
                                            log: core.log, accessLog: core.accessLog.map { AccessLogStage(writer: $0) })
        try epoll.add(mailbox.wake.fd, events: Epoll.readable, token: Self.wakeToken)
        for (i, l) in listeners.enumerated() {
            try epoll.add(l.fd, events: l.events, token: Self.listenerTag | UInt64(i))
        }
        environment.eventLoop = loop
        loop.worker = self
    }

    deinit {
        readBuffer.deallocate()
        tlsScratch.deallocate()
    }

    // MARK: loop

    func run() {
        environment.now = Clock.monotonicNanos()
        if serving { for p in core.plugins { p.workerStarted(workerID: id, loop: loop) } }
        environment.dates.refresh()
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
            environment.now = Clock.monotonicNanos()
            environment.receivedBy = Clock.preciseMonotonicNanos()
            environment.dates.refresh()
            for i in 0..<n {
                let (events, token) = epoll.event(at: i)
                if token & Self.listenerTag != 0 {
                    acceptAll(Int(token & 0xffff))
                } else if token == Self.wakeToken {
                    mailbox.wake.drain()
                    for h in mailbox.take() { adopt(h.fd, peer: h.peer, localPort: h.localPort, pluginIndex: h.pluginIndex, tls: h.tls) }
                    for task in mailbox.takeTasks() { task() }
                } else if token & OutboundSockets.tag != 0 {
                    outbound.handle(events, token: token)
                } else {
                    clientEvent(events, token)
                }
            }
            if !timers.isEmpty { TimerQueue.fire(timers.takeDue(now: Clock.monotonicNanos())) }
            if environment.hasServiceRequests { serviceQueued() }
            if environment.now &- lastSweep >= Self.sweepNanos || n == 0 { sweep() }
            // Sockets closed this iteration may still be borrowed by the service list.
            if !environment.hasServiceRequests { clients.releaseRemoved() }
            if environment.draining && (clients.count == 0 || environment.now >= drainDeadline) { break }
        }
        if serving { for p in core.plugins { p.workerStopping(workerID: id) } }
        for s in clients.all { close(s, reset: s.http.outputBlocked) }
        outbound.closeAll()
        loop.worker = nil
        environment.accessLog?.flush()
        for l in listeners { epoll.remove(l.fd); FileIO.close(l.fd) }
        listeners.removeAll()
    }

    /// The end-of-iteration flush: the responses of one epoll batch are written
    /// after every ready socket was read. Waking the clients one response at a
    /// time, between reads, made each wake-up preempt this thread (measured).
    private func serviceQueued() {
        environment.drainServiceList { c in
            guard let s = clients.reference(for: c.token) else { return }
            s._withUnsafeGuaranteedRef { s in
                if s.http === c { service(s, writable: false) }
            }
        }
    }

    private func sweep() {
        let now = environment.now
        lastSweep = now
        if core.settings.generation != generation {
            let settings: RuntimeSettings
            (settings, generation) = core.settings.snapshot()
            environment.adopt(settings)
        }
        if !environment.draining && core.stopping.load(ordering: .relaxed) { startDrain() }
        environment.accessLog?.flush()
        for i in listeners.indices where listeners[i].paused && !environment.draining {
            if (try? epoll.add(listeners[i].fd, events: listeners[i].events, token: Self.listenerTag | UInt64(i))) != nil {
                listeners[i].paused = false
            }
        }
        let timeouts = HTTP1Connection.Timeouts(environment.settings.config)
        for s in clients.all where s.http.hasTimedOut(now: now, timeouts) {
            if core.log.enabled(.debug) {
                core.log.debug("worker \(id): closing \(s.http.info.peerAddress):\(s.http.info.peerPort) on timeout")
            }
            close(s, reset: s.http.outputBlocked)
        }
    }

    private func startDrain() {
        environment.draining = true
        drainDeadline = environment.now &+ UInt64(environment.settings.config.drainTimeout * 1e9)
        for l in listeners { epoll.remove(l.fd); FileIO.close(l.fd) }
        listeners.removeAll()
        for s in clients.all where s.http.beginDrain() { close(s) }
    }

    // MARK: accepting

    private func acceptAll(_ index: Int) {
        guard index < listeners.count, !listeners[index].paused else { return }
        let l = listeners[index]
        let outcome = accepting.acceptBatch(l.fd) { adopt($0, peer: $1, localPort: l.port, pluginIndex: l.pluginIndex, tls: l.tls) }
        guard case .outOfDescriptors(let mustPause) = outcome else { return }
        if environment.now &- lastDescriptorWarning > 1_000_000_000 {
            lastDescriptorWarning = environment.now
            core.log.warn("worker \(id): out of file descriptors; refusing connections")
        }
        if mustPause {
            // Until the next sweep (no busy loop on a listener that cannot be drained).
            epoll.remove(l.fd)
            listeners[index].paused = true
        }
    }

    private func adopt(_ fd: Int32, peer: PeerAddress, localPort: Int, pluginIndex: Int?, tls: TLSCertificateStore?) {
        if environment.draining { FileIO.close(fd); return }
        guard core.reserveConnectionSlot(max: environment.settings.config.maxConnections) else {
            core.log.debug("connection refused: max_connections reached")
            core.refuse(fd)
            return
        }
        // TCP_NODELAY: inherited from the listener (Socket.listen).
        let token = clients.nextToken(for: fd)
        let info = ConnectionInfo(id: UInt64(id) << 48 | clients.lastSerial, workerID: id, peerAddress: peer.host,
                                  peerPort: peer.port, localPort: localPort, isTLS: tls != nil)
        let pipeline = core.pipeline(forListenerOf: pluginIndex)
        guard pipeline.accepts(info) else {
            FileIO.close(fd)
            core.releaseConnectionSlot()
            return
        }
        var session: TLSSession?
        if let tls {
            // The handshake runs in the first reads (TLSTransport); the header timeout covers it.
            guard let created = TLSSession(server: tls.certificates, fd: fd, counters: core.statistics.tls,
                                                   kernel: tls.kernelTransmit) else {
                FileIO.close(fd)
                core.releaseConnectionSlot()
                return
            }
            session = created
        }
        let s = ClientSocket(fd: fd, token: token, interest: Self.readInterest,
                             http: HTTP1Connection(info: info, pipeline: pipeline, environment: environment),
                             tls: session.map { ($0, tlsScratch, tlsBatch) })
        do { try epoll.add(fd, events: Self.readInterest, token: token) } catch {
            FileIO.close(fd)
            core.releaseConnectionSlot()
            return
        }
        clients.insert(s)
        counters.connectionOpened()
    }

    /// Closes `s`; with `reset`, unsent output is dropped (RST) instead of
    /// lingering in kernel buffers for a client that stopped reading.
    private func close(_ s: ClientSocket, reset: Bool = false) {
        guard clients.remove(s) else { return }
        // No EPOLL_CTL_DEL: closing the only descriptor of the socket (nothing here
        // dups or forks) takes it out of epoll; that was one syscall a connection.
        // An event of this batch still carrying its token finds no client (the serial).
        if !reset { s.tls?.shutdown() }  // close_notify, best effort
        if reset { Socket.abort(s.fd) } else { FileIO.close(s.fd) }
        counters.connectionClosed()
        core.releaseConnectionSlot()
        s.http.didClose()
    }

    private func setInterest(_ s: ClientSocket, _ events: UInt32) {
        if s.interest == events { return }
        s.interest = events
        do { try epoll.modify(s.fd, events: events, token: s.token) } catch { close(s) }
    }

    // MARK: client I/O

    private func clientEvent(_ events: UInt32, _ token: UInt64) {
        clients.reference(for: token)?._withUnsafeGuaranteedRef { clientEvent(events, $0) }
    }

    private func clientEvent(_ events: UInt32, _ s: ClientSocket) {
        // Reads skipped since a short read may call read(2) again (TLSSession+Records).
        s.tls?.socketSignalled()
        // A TLS handshake in progress reads and writes inside `read`, whichever way the socket became ready.
        if let tls = s.tls, !tls.isEstablished { onReadable(s); return }
        if events & Epoll.writable != 0 {
            service(s, writable: true)
            guard clients.contains(s) else { return }
        }
        // Read-ahead may hold decrypted input the socket will not signal again.
        if events & (Epoll.readable | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 || s.tls?.hasBufferedInput == true {
            onReadable(s)
        }
    }

    private func onReadable(_ s: ClientSocket) {
        guard let tls = s.tls else {
            if s.http.outputBlocked { return }  // backpressure: read again once the output drained
            let n: Int
            do {
                switch try s.transport.read(into: readBuffer, count: Self.readCapacity) {
                case .wouldBlock: return
                case .processed(let k): n = k
                }
            } catch {
                close(s)
                return
            }
            if n == 0 { close(s); return }
            if s.http.receive(UnsafeRawBufferPointer(start: readBuffer, count: n)) { service(s, writable: false) }
            return
        }
        // TLS: read until OpenSSL wants the socket again, since input it decrypted
        // ahead is not signalled by epoll.
        while !s.http.outputBlocked {
            let n: Int
            do {
                s.tlsTransport!.wantsWritable = false
                switch try s.tlsTransport!.read(into: readBuffer, count: Self.readCapacity) {
                case .wouldBlock:
                    if !tls.isEstablished {
                        setInterest(s, s.tlsTransport!.wantsWritable ? Self.readInterest | Epoll.writable : Self.readInterest)
                    }
                    return
                case .processed(let k): n = k
                }
            } catch {
                if core.log.enabled(.debug) { core.log.debug("worker \(id): \(s.http.info.peerAddress): \(error)") }
                close(s)
                return
            }
            if n == 0 { close(s); return }
            if s.http.receive(UnsafeRawBufferPointer(start: readBuffer, count: n)) { service(s, writable: false) }
            guard clients.contains(s), tls.hasBufferedInput else { return }
        }
    }

    /// Writes what the connection has queued and follows its outcome.
    private func service(_ s: ClientSocket, writable: Bool) {
        let outcome: HTTP1Connection.ServiceOutcome
        if s.tlsTransport != nil {
            s.tlsTransport!.wantsWritable = false  // as a transport built for this call had it
            outcome = s.http.service(&s.tlsTransport!, writable: writable)
        } else {
            outcome = s.http.service(&s.transport, writable: writable)
        }
        switch outcome {
        case .idle, .lingering: setInterest(s, Self.readInterest)
        case .waitingForWritable: setInterest(s, Epoll.writable)
        case .close(let reset): close(s, reset: reset)
        }
    }
}
