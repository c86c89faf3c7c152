import CapuchinSystem
import HTTPCore

/// The answer to a request a content handler deferred (`RequestContext.deferResponse()`).
/// Complete it on the same worker thread, once: `respond(_:)` with a whole
/// response, or `start(_:)` + `write(_:)`... + `finish()` to stream a body.
/// Later pipelined requests on the connection wait until it is complete.
public final class ResponseSink {
    enum State { case open, streaming, done }
    /// What happened before the handler returned `.deferred` (the sink is attached then).
    enum EarlyAnswer { case pending, responded(Response), streaming, aborted }

    /// Request body bytes as they arrive (valid during the call), and its end.
    /// Set them inside `handle`; bytes that arrive before are not kept.
    public var onRequestBody: ((UnsafeRawBufferPointer) -> Void)?
    public var onRequestBodyEnd: (() -> Void)?
    /// The client went away before the response was complete: release what
    /// the request holds. Nothing may be written afterwards (calls are ignored).
    public var onCancel: (() -> Void)?
    /// The client's output queue drained after `isCongested` was true.
    public var onDrain: (() -> Void)?

    public private(set) var requestBodyComplete: Bool
    public private(set) var isCancelled = false
    /// Whether the response was completed (or the sink cancelled).
    public var isDone: Bool { state == .done }

    let request: HTTPRequest
    public let context: RequestContext
    let connection: HTTP1Connection
    var state = State.open
    private var early = EarlyAnswer.pending
    private var attached = false
    var keepAlive = true
    var sendBody = true
    var status = 0
    var bytesSent = 0

    init(request: HTTPRequest, context: RequestContext, connection: HTTP1Connection, bodyComplete: Bool) {
        self.request = request
        self.context = context
        self.connection = connection
        self.requestBodyComplete = bodyComplete
    }

    /// The client's unsent output is large: pause the source until `onDrain`.
    public var isCongested: Bool { state == .streaming && connection.isCongested }

    /// Completes with a whole response (the server frames it as for `handle`).
    public func respond(_ response: Response) {
        guard state == .open else { return }
        state = .done
        if !attached { early = .responded(response); return }
        connection.completeDeferred(self, response)
    }

    /// Sends the head of a streamed response. Its headers must frame the body:
    /// `Content-Length`, or `Transfer-Encoding: chunked` (then `write` already
    /// chunked bytes), or `Connection: close` (close-delimited). Nothing is sent
    /// if the sink was already completed.
    public func start(_ response: Response) {
        guard state == .open else { return }
        state = .streaming
        if !attached { early = .streaming; return }
        connection.startDeferred(self, response)
    }

    /// Body bytes of a streamed response, framed as the head said.
    public func write(_ bytes: [UInt8]) {
        guard state == .streaming, !bytes.isEmpty, attached else { return }
        connection.writeDeferred(self, bytes)
    }

    /// Body bytes of a streamed response from `file` (sent with sendfile, not
    /// copied: the queue holds the file, not its bytes), framed as the head said.
    public func write(file: OpenFile, offset: Int, count: Int) {
        guard state == .streaming, count > 0, attached else { return }
        connection.writeDeferred(self, file: file, offset: offset, count: count)
    }

    /// Ends a streamed response.
    public func finish() {
        guard state == .streaming else { return }
        state = .done
        if attached { connection.finishDeferred(self) }
    }

    /// Gives up mid-response (the source failed after the head was sent): the
    /// client connection is reset so it cannot take a truncated body as whole.
    public func abort() {
        if !attached { early = .aborted; state = .done; return }
        guard !isCancelled else { return }
        state = .done
        connection.abortDeferred(self)
    }

    // MARK: connection side

    /// The handler returned `.deferred`: from now on calls reach the connection.
    func attach() -> EarlyAnswer {
        attached = true
        return early
    }

    func deliverBody(_ bytes: UnsafeRawBufferPointer) {
        if !isCancelled { onRequestBody?(bytes) }
    }

    func bodyEnded() {
        requestBodyComplete = true
        if !isCancelled { onRequestBodyEnd?() }
    }

    func drained() {
        if !isCancelled && state == .streaming { onDrain?() }
    }

    func cancel() {
        guard !isCancelled else { return }
        isCancelled = true
        let wasDone = state == .done
        state = .done
        let c = onCancel
        release()
        if !wasDone { c?() }
    }

    /// Drops the callbacks, an early response and the context's reference back to
    /// this sink: that reference cycle kept every deferred request's context, sink
    /// and response (with its open body file) alive after it finished.
    func release() {
        onCancel = nil; onDrain = nil; onRequestBody = nil; onRequestBodyEnd = nil
        early = .pending
        context.detachSink()
    }
}
