import CapuchinSystem
import HTTPCore

/// The connection's side of a deferred response (`ResponseSink`). While
/// `deferred` is set no later request is parsed, so everything here appends to
/// the end of `output` and stays in request order; outside `drive` the
/// connection asks the loop for service so the bytes go out at the end of
/// the iteration with the others.
extension HTTP1Connection {
    /// Takes over a sink returned by a handler as `.deferred`.
    func attach(_ sink: ResponseSink, _ request: HTTPRequest, _ ctx: RequestContext, keepAlive: Bool) {
        guard sink === ctx.sink else {
            environment.log.error("a plugin answered 'deferred' with a sink that is not this request's deferResponse()")
            var response = ErrorPage.response(500)
            return finishAnswer(request, ctx, &response, keepAlive: false, forceClose: false)
        }
        sink.keepAlive = keepAlive
        sink.sendBody = !request.isHead
        switch sink.attach() {
        case .pending:
            deferred = sink
        case .aborted:
            sink.release()
            closeWhenDone = true
        case .streaming:
            sink.release()
            environment.log.error("a plugin streamed a deferred response before handle returned")
            var response = ErrorPage.response(500)
            finishAnswer(request, ctx, &response, keepAlive: false, forceClose: false)
        case .responded(var response):
            sink.release()
            let ka = keepAlive && !Self.asksToClose(response)
            finishAnswer(request, ctx, &response, keepAlive: ka, forceClose: false)
        }
    }

    /// A deferred response's own `Connection: close` (e.g. a close-delimited body).
    static func asksToClose(_ r: Response) -> Bool {
        r.headers.values("Connection").contains { FieldSyntax.hasListElement($0, named: "close") }
    }

    var isCongested: Bool { outputBlocked && output.pendingBytes > Self.congestionBytes }

    @inline(__always)
    private func owns(_ sink: ResponseSink) -> Bool { phase != .closed && deferred === sink }

    /// Queues output for the deferred response behind everything before it.
    private func appendDeferred(_ build: (inout OutputQueue) -> Void) {
        if output.isEmpty && output.bufferCapacity == 0 { environment.lendQueue(to: &output) }
        build(&output)
        if inDrive { return }
        environment.requestService(self)
    }

    private func prepareDeferredHead(_ sink: ResponseSink, _ response: inout Response) -> Bool {
        pipeline.filter(sink.request, &response, sink.context)
        environment.accessLog?.noteCacheVerdict(of: response, in: sink.context)
        let keepAlive = sink.keepAlive && !Self.asksToClose(response)
        if !keepAlive {
            closeWhenDone = true
            lingerOnClose = sink.request.keepAlive && !environment.draining
        }
        sink.status = response.status
        sink.sendBody = sink.sendBody && !ResponseHeadWriter.statusForbidsBody(response.status)
        return keepAlive
    }

    func completeDeferred(_ sink: ResponseSink, _ response: Response) {
        guard owns(sink) else { return }
        var r = response
        let keepAlive = prepareDeferredHead(sink, &r)
        let sendBody = sink.sendBody
        let http10 = sink.request.version == .http10
        let dateLine = environment.dates.headerLine
        appendDeferred { q in
            q.appendOwned { ResponseHeadWriter.write(r, into: &$0, dateLine: dateLine, keepAlive: keepAlive, http10: http10) }
            if sendBody { q.append(r.body) }
        }
        if inDrive { responsesInBatch += 1 }
        recordAnswer(sink.request, sink.context, status: r.status, bytes: sendBody ? r.body.count : 0)
        endDeferred(sink)
    }

    func startDeferred(_ sink: ResponseSink, _ response: Response) {
        guard owns(sink) else { return }
        var r = response
        let keepAlive = prepareDeferredHead(sink, &r)
        let http10 = sink.request.version == .http10
        let dateLine = environment.dates.headerLine
        appendDeferred { q in
            q.appendOwned { ResponseHeadWriter.write(r, into: &$0, dateLine: dateLine, keepAlive: keepAlive, http10: http10, omitLength: true) }
        }
    }

    func writeDeferred(_ sink: ResponseSink, _ bytes: [UInt8]) {
        guard sink.sendBody, owns(sink) else { return }
        sink.bytesSent += bytes.count
        appendDeferred { $0.appendBytes(bytes) }
    }

    func writeDeferred(_ sink: ResponseSink, file: OpenFile, offset: Int, count: Int) {
        guard sink.sendBody, owns(sink) else { return }
        sink.bytesSent += count
        appendDeferred { $0.append(.file(file, offset: offset, count: count)) }
    }

    func finishDeferred(_ sink: ResponseSink) {
        guard owns(sink) else { return }
        if inDrive { responsesInBatch += 1 }
        recordAnswer(sink.request, sink.context, status: sink.status, bytes: sink.bytesSent)
        endDeferred(sink)
    }

    func abortDeferred(_ sink: ResponseSink) {
        guard owns(sink) else { return }
        deferred = nil
        sink.release()
        if inDrive {
            // `output` may hold this connection's earlier responses: send them, then close.
            closeWhenDone = true
            lingerOnClose = false
        } else {
            requestReset()
        }
    }

    /// The deferred response is fully queued: later pipelined requests may run
    /// (inside `drive` its loop goes on; elsewhere at the next service).
    private func endDeferred(_ sink: ResponseSink) {
        deferred = nil
        sink.release()
        if !inDrive { environment.requestService(self) }
    }
}
