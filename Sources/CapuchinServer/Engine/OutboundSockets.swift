import CapuchinSystem

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
    func open(host: String, port: Int, handler: OutboundHandler) throws -> OutboundConnection {
        let (fd, inProgress) = try Socket.connect(host: host, port: port)
        Socket.setNoDelay(fd)
        let token = table.nextToken(for: fd)
        let interest = inProgress ? Epoll.writable : Epoll.readable | Epoll.readHangup
        let o = OutboundConnection(fd: fd, token: token, host: host, port: port, loop: loop, handler: handler, interest: interest)
        do { try epoll.add(fd, events: interest, token: token) } catch {
            FileIO.close(fd)
            throw error
        }
        table.insert(o)
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

    func close(_ o: OutboundConnection, error: SystemError?, notify: Bool) {
        guard !o.isClosed, table.remove(o) else { return }
        epoll.remove(o.fd)
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
        if !o.isConnected { events = Epoll.writable } else {
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
        if !o.isConnected {
            let err = Socket.pendingError(o.fd)
            if err != 0 || events & (Epoll.error | Epoll.hangup) != 0 {
                let call = "connect(\(o.host):\(o.port))"
                close(o, error: err != 0 ? SystemError(call: call, errno: err) : .connectionRefused(call), notify: true)
                return
            }
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
}
