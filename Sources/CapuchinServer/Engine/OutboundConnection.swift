import CapuchinSystem
import CapuchinTLS

/// Callbacks of an outbound connection, on the worker thread that opened it.
public protocol OutboundHandler: AnyObject {
    /// The TCP connect completed.
    func outboundConnected(_ connection: OutboundConnection)
    /// Bytes arrived; they are valid only during the call.
    func outboundReadable(_ connection: OutboundConnection, _ bytes: UnsafeRawBufferPointer)
    /// Everything passed to `send` has been handed to the kernel.
    func outboundWritable(_ connection: OutboundConnection)
    /// The connection is gone: `error` nil for an orderly close by the peer,
    /// else the connect or I/O error. Not called after the plugin's own `close()`.
    func outboundClosed(_ connection: OutboundConnection, error: SystemError?)
}

/// A non-blocking TCP connection a plugin opened through `EventLoop.connect`.
/// Only its owning worker touches it; the descriptor stays inside the server.
public final class OutboundConnection: DescriptorOwner {
    public let host: String
    public let port: Int
    /// Who gets the callbacks; may be replaced (e.g. when a pooled connection is reused).
    public var handler: OutboundHandler?
    public private(set) var isConnected = false
    public private(set) var isClosed = false
    /// Free for the plugin (e.g. when it was last used).
    public var lastUsedNanos: UInt64 = 0

    let fd: Int32
    /// TLS to the peer (the proxy's https origins): the handshake runs after the
    /// TCP connect and `outboundConnected` waits for it; bytes are encrypted in `send`.
    let tls: TLSSession?
    /// The TCP connect completed (with TLS, `isConnected` waits for the handshake too).
    var tcpConnected = false
    let token: UInt64
    var interest: UInt32
    private var sendBuffer: [UInt8] = []
    private var sendOffset = 0
    private(set) var readPaused = false
    unowned let loop: EventLoop

    init(fd: Int32, token: UInt64, host: String, port: Int, loop: EventLoop, handler: OutboundHandler, interest: UInt32,
         tls: TLSSession? = nil) {
        self.fd = fd
        self.tls = tls
        self.token = token
        self.host = host
        self.port = port
        self.loop = loop
        self.handler = handler
        self.interest = interest
    }

    /// Bytes passed to `send` not yet taken by the kernel.
    public var unsentBytes: Int { sendBuffer.count - sendOffset }

    /// Queues `bytes` and writes what the socket takes now; the rest goes on
    /// writability. Errors surface as `outboundClosed` (from the loop, later).
    public func send(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        sendBuffer.append(contentsOf: bytes)
        if isConnected { loop.worker?.outbound.flush(self) }
    }

    /// Closes at once; no callback follows.
    public func close() { loop.worker?.outbound.close(self, error: nil, notify: false) }

    /// Stops reading (the client is slow); `resumeReading` starts again.
    public func pauseReading() {
        guard !readPaused else { return }
        readPaused = true
        loop.worker?.outbound.updateInterest(self)
    }

    public func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        loop.worker?.outbound.updateInterest(self)
        // Input OpenSSL decrypted ahead is not signalled by the socket again.
        if tls?.hasBufferedInput == true {
            loop.schedule(after: 0) { [weak self] in
                guard let self, !self.isClosed, !self.readPaused else { return }
                self.loop.worker?.outbound.read(self)
            }
        }
    }

    // MARK: worker side

    func markConnected() { isConnected = true }
    func markClosed() { isClosed = true; handler = nil }

    /// Writes queued bytes; true when all are written. Throws `SystemError`.
    func writePending() throws -> Bool {
        while sendOffset < sendBuffer.count {
            if let tls {
                // One record per call; after a want-write the same bytes are offered again.
                let r = sendBuffer.withUnsafeBytes { raw in tls.write(raw.baseAddress! + sendOffset, count: raw.count - sendOffset) }
                switch r {
                case .done(let n): sendOffset += n; continue
                case .wantRead, .wantWrite: return false
                case .closed: throw SystemError(call: "TLS write to \(host):\(port) (closed by the peer)", code: .connectionReset)
                case .failed(let why): throw SystemError(call: "TLS write to \(host):\(port) (\(why))", code: .ioError)
                }
            }
            let r = try sendBuffer.withUnsafeBytes { raw in
                try Socket.send(fd, UnsafeRawBufferPointer(rebasing: raw[sendOffset...]))
            }
            guard case .processed(let n) = r else { return false }
            sendOffset += n
        }
        sendBuffer.removeAll(keepingCapacity: sendBuffer.capacity <= 64 << 10)
        sendOffset = 0
        return true
    }
}
