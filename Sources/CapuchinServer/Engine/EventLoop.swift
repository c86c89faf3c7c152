import CapuchinSystem
import CapuchinTLS

/// A plugin's handle on one worker's event loop: outbound connections and
/// timers, all run on that worker's thread. Get it from
/// `RequestContext.eventLoop` or `Plugin.workerStarted(workerID:loop:)`; use it
/// only on its own worker thread.
public final class EventLoop {
    public let workerID: Int
    /// Runs work on this loop from any thread (e.g. a result another worker got).
    public let poster: LoopPoster
    unowned(unsafe) var worker: Worker?

    init(workerID: Int, poster: LoopPoster) {
        self.workerID = workerID
        self.poster = poster
    }

    /// Monotonic nanoseconds as of the current loop iteration.
    public var now: UInt64 { worker?.loopNow ?? Clock.monotonicNanos() }

    /// Opens a non-blocking TCP connection to `host` (an IPv4/IPv6 literal)
    /// and `port`; `handler` gets `outboundConnected` or `outboundClosed(error:)`
    /// later. Throws `SystemError` when the socket cannot even be created or
    /// the connect fails at once (ECONNREFUSED on loopback, EMFILE, EINVAL for
    /// a host that is not a literal).
    /// With `tls`, a TLS handshake (SNI and verified name `serverName`) follows the
    /// connect, and `outboundConnected` comes once it completed; a failed one
    /// (verification included) is `outboundClosed` with the reason in the error.
    public func connect(host: String, port: Int, handler: OutboundHandler, tls: TLSClientContext? = nil,
                        serverName: String = "") throws -> OutboundConnection {
        guard let worker else { throw SystemError.notConnected("connect (worker stopped)") }
        return try worker.outbound.open(host: host, port: port, handler: handler, tls: tls, serverName: serverName)
    }

    /// Runs `action` on this worker after `nanoseconds` (millisecond precision).
    @discardableResult
    public func schedule(after nanoseconds: UInt64, _ action: @escaping () -> Void) -> TimerHandle {
        let t = TimerHandle(deadline: now &+ nanoseconds, action: action)
        worker?.timers.schedule(t)
        return t
    }
}
