import CapuchinSystem

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
    let token: UInt64
    var interest: UInt32
    private var sendBuffer: [UInt8] = []
    private var sendOffset = 0
    private(set) var readPaused = false
    unowned let loop: EventLoop

    init(fd: Int32, token: UInt64, host: String, port: Int, loop: EventLoop, handler: OutboundHandler, interest: UInt32) {
        self.fd = fd
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
    }

    // MARK: worker side

    func markConnected() { isConnected = true }
    func markClosed() { isClosed = true; handler = nil }

    /// Writes queued bytes; true when all are written. Throws `SystemError`.
    func writePending() throws -> Bool {
        while sendOffset < sendBuffer.count {
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
