import CapuchinSystem
import HTTPCore

/// One client connection, owned by one worker. Holds little while idle: the
/// input and output buffers are released when empty.
final class Connection {
    enum Phase { case active, lingering }

    let fd: Int32
    let token: UInt64
    let info: ConnectionInfo
    /// Requests on a plugin's own listener go only to that plugin.
    let pluginIndex: Int?

    /// Unparsed bytes (a partial head, or pipelined requests waiting for output to drain).
    var input: [UInt8] = []
    /// Responses the socket has not taken yet.
    var pending = OutputQueue()
    var hasPending = false
    /// Responses built in this loop iteration, written at its end.
    var waitingOutput: OutputQueue?
    var served = 0
    var phase = Phase.active
    /// Bytes of a Content-Length request body still to skip.
    var bodyRemaining = 0
    var chunked: ChunkedDecoder?
    /// When the first byte of the current unfinished head arrived (0: none yet).
    var headStarted: UInt64 = 0
    var lastActivity: UInt64
    /// Close once the queued output is written.
    var closeWhenDone = false
    /// The server decided to close while the client may still send: linger.
    var serverClosing = false
    var interest: UInt32
    /// The response a plugin deferred; later requests wait for it.
    var deferred: ResponseSink?

    init(fd: Int32, token: UInt64, info: ConnectionInfo, pluginIndex: Int?, now: UInt64, interest: UInt32) {
        self.fd = fd
        self.token = token
        self.info = info
        self.pluginIndex = pluginIndex
        lastActivity = now
        self.interest = interest
    }

    /// Nothing in flight: no partial request, body or output.
    var isIdle: Bool { input.isEmpty && !hasPending && bodyRemaining == 0 && chunked == nil && headStarted == 0 && phase == .active && deferred == nil }
}
