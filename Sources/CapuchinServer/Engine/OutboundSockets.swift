import CapuchinSystem
import CapuchinTLS

/// The outbound TCP connections plugins open on one event loop
/// (`EventLoop.connect`): their descriptor table, epoll interest, connect
/// completion, reads into the loop's buffer and queued writes.
final class OutboundSockets {
    static let tag: UInt64 = 1 << 61

    private let epoll: Epoll
    private unowned let loop: EventLoop
    private let readBuffer: UnsafeMutableRawPointer
    private let readCapacity: Int
    private var table = DescriptorTable<OutboundConnection>(tag: OutboundSockets.tag)

    init(epoll: Epoll, loop: EventLoop, readBuffer: UnsafeMutableRawPointer, readCapacity: Int) {
        self.epoll = epoll
        self.loop = loop
        self.readBuffer = readBuffer
        self.readCapacity = readCapacity
    }

    /// Throws `SystemError` when the socket cannot be created or the connect fails at once.
    func open(host: String, port: Int, handler: OutboundHandler, tls: TLSClientContext? = nil,
              serverName: String = "") throws -> OutboundConnection {
        let (fd, inProgress) = try Socket.connect(host: host, port: port)
        Socket.setNoDelay(fd)
        var session: TLSSession?
        if let tls {
            guard let s = tls.session(fd: fd, serverName: serverName.isEmpty ? host : serverName, origin: "\(host):\(port)") else {
                FileIO.close(fd)
                throw SystemError(call: "TLS session for \(host):\(port)", code: .noMemory)
            }
            session = s
        }
        let token = table.nextToken(for: fd)
        // With TLS the handshake starts by writing the ClientHello.
        let interest = inProgress || session != nil ? Epoll.writable : Epoll.readable | Epoll.readHangup
        let o = OutboundConnection(fd: fd, token: token, host: host, port: port, loop: loop, handler: handler, interest: interest,
                                   tls: session)
        do { try epoll.add(fd, events: interest, token: token) } catch {
            FileIO.close(fd)
            throw error
        }
        table.insert(o)
        if !inProgress && session != nil { o.tcpConnected = true }
        if !inProgress && session == nil {
            o.markConnected()
            // Report on the next pass: the caller has not stored `o` yet.
            loop.schedule(after: 0) { [weak o] in
                guard let o, !o.isClosed else { return }
                o.handler?.outboundConnected(o)
            }
        }
        return o
    }

    func close(_ o: OutboundConnection, error: SystemError?, notify: Bool) {
        guard !o.isClosed, table.remove(o) else { return }
        epoll.remove(o.fd)
        if o.isConnected { o.tls?.shutdown() }
        FileIO.close(o.fd)
        let h = o.handler
        o.markClosed()
        if notify { h?.outboundClosed(o, error: error) }
    }

    /// The loop is stopping: close every connection without callbacks.
    func closeAll() {
        for o in table.all { close(o, error: nil, notify: false) }
    }

    func updateInterest(_ o: OutboundConnection) {
        guard !o.isClosed else { return }
        var events: UInt32
        if !o.isConnected {
            events = o.tcpConnected && o.tls?.handshakeWantsRead == true ? Epoll.readable | Epoll.readHangup : Epoll.writable
        } else {
            events = o.readPaused ? 0 : Epoll.readable | Epoll.readHangup
            if o.unsentBytes > 0 { events |= Epoll.writable }
        }
        if events == o.interest { return }
        o.interest = events
        do { try epoll.modify(o.fd, events: events, token: o.token) } catch let e as SystemError {
            close(o, error: e, notify: true)
        } catch {}
    }

    func flush(_ o: OutboundConnection) {
        do {
            let done = try o.writePending()
            updateInterest(o)
            if done, !o.isClosed { o.handler?.outboundWritable(o) }
        } catch let e as SystemError {
            close(o, error: e, notify: true)
        } catch {}
    }

    /// An epoll event for an outbound token.
    func handle(_ events: UInt32, token: UInt64) {
        guard let o = table.element(for: token) else { return }
        if !o.isConnected && o.tcpConnected { return handshake(o) }
        if !o.isConnected {
            let err = Socket.pendingError(o.fd)
            if err != 0 || events & (Epoll.error | Epoll.hangup) != 0 {
                let call = "connect(\(o.host):\(o.port))"
                close(o, error: err != 0 ? SystemError(call: call, errno: err) : .connectionRefused(call), notify: true)
                return
            }
            o.tcpConnected = true
            if o.tls != nil { return handshake(o) }
            o.markConnected()
            updateInterest(o)
            o.handler?.outboundConnected(o)
            if o.isClosed { return }
            if o.unsentBytes > 0 { flush(o) }
            return
        }
        if events & Epoll.writable != 0 {
            flush(o)
            if o.isClosed { return }
        }
        if events & (Epoll.readable | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 && !o.readPaused {
            if o.tls != nil { return read(o) }
            let n: Int
            do {
                switch try FileIO.read(o.fd, into: readBuffer, count: readCapacity) {
                case .wouldBlock: return
                case .processed(let k): n = k
                }
            } catch let e as SystemError {
                close(o, error: e, notify: true)
                return
            } catch { return }
            if n == 0 { close(o, error: nil, notify: true); return }
            o.handler?.outboundReadable(o, UnsafeRawBufferPointer(start: readBuffer, count: n))
        }
    }

    // MARK: TLS

    /// Advances a TLS handshake; once done the connection is reported connected
    /// and what was queued meanwhile is sent.
    private func handshake(_ o: OutboundConnection) {
        guard let tls = o.tls else { return }
        switch tls.handshake() {
        case .done:
            o.markConnected()
            updateInterest(o)
            o.handler?.outboundConnected(o)
            if !o.isClosed && o.unsentBytes > 0 { flush(o) }
        case .wantRead, .wantWrite: updateInterest(o)
        case .closed:
            close(o, error: SystemError(call: "TLS handshake with \(o.host):\(o.port) (closed by the peer)", code: .connectionReset), notify: true)
        case .failed(let why):
            close(o, error: SystemError(call: "TLS handshake with \(o.host):\(o.port) (\(why))", code: .ioError), notify: true)
        }
    }

    /// Reads and decrypts what is available (several buffers when OpenSSL holds more).
    func read(_ o: OutboundConnection) {
        guard let tls = o.tls else { return }
        while !o.isClosed && !o.readPaused {
            var n = 0
            var ended: SystemError?? = nil  // .some(nil): orderly close
            reading: while n < readCapacity {
                switch tls.read(into: readBuffer + n, count: readCapacity - n) {
                case .done(let k): n += k
                case .wantRead, .wantWrite: break reading
                case .closed: ended = .some(nil); break reading
                case .failed(let why):
                    ended = .some(SystemError(call: "TLS read from \(o.host):\(o.port) (\(why))", code: .ioError))
                    break reading
                }
            }
            if n > 0 { o.handler?.outboundReadable(o, UnsafeRawBufferPointer(start: readBuffer, count: n)) }
            if let ended {
                if !o.isClosed { close(o, error: ended, notify: true) }
                return
            }
            if n < readCapacity || !tls.hasBufferedInput { return }
        }
    }
}
