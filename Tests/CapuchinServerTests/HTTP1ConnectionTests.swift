import HTTPCore
import XCTest
@testable import CapuchinServer

/// A content handler scripted by path: `/defer...` is answered later through
/// its sink, `/big/N` with N bytes, anything else with its own path.
final class ScriptedHandler: Plugin {
    let name = "scripted"
    var phases: PluginPhases { [.handle, .requestDone] }
    private(set) var handled: [String] = []
    private(set) var done: [(path: String, status: Int)] = []
    var sinks: [String: ResponseSink] = [:]
    /// Paths answered through the sink before `handle` returns.
    var answerEarly: Set<String> = []

    func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
        handled.append(request.path)
        if request.path.hasPrefix("/defer") {
            guard let sink = context.deferResponse(request: request) else { return .respond(Response(status: 500)) }
            sinks[request.path] = sink
            if answerEarly.contains(request.path) { sink.respond(Self.text(request.path)) }
            return .deferred(sink)
        }
        if request.path.hasPrefix("/big/") {
            let n = Int(request.path.dropFirst(5)) ?? 0
            return .respond(Response(status: 200, body: .bytes((0..<n).map { UInt8(97 + $0 % 26) })))
        }
        return .respond(Self.text(request.path))
    }

    func requestDone(_ request: HTTPRequest, status: Int, bytes: Int, context: RequestContext) {
        done.append((request.path, status))
    }

    static func text(_ s: String) -> Response {
        var h = HTTPHeaders()
        h.add("Content-Type", "text/plain")
        return Response(status: 200, headers: h, body: .bytes(Array(s.utf8)))
    }
}

final class HTTP1ConnectionTests: XCTestCase {
    private func get(_ path: String, _ extra: String = "") -> String { "GET \(path) HTTP/1.1\r\nHost: t\r\n\(extra)\r\n" }

    private func make(_ configure: (inout ServerConfig) -> Void = { _ in }) -> (EmbeddedConnection, ScriptedHandler) {
        let handler = ScriptedHandler()
        return (EmbeddedConnection(plugins: [handler], configure: configure), handler)
    }

    func testOneRequestIsOneWrite() {
        let (conn, _) = make()
        conn.feed(get("/a"))
        XCTAssertEqual(conn.transport.writeCalls, 1)
        let r = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(r.map(\.body), ["/a"])
        XCTAssertEqual(r.first?.header("Content-Length"), "2")
        XCTAssertEqual(conn.state, .open)
    }

    /// The service list holds connections unretained, which is safe only for open
    /// ones (the worker keeps a closed one's socket only to the end of the iteration):
    /// a closed connection asking for service (a late deferred completion) is not queued.
    func testAClosedConnectionIsNotQueuedForService() {
        let (conn, _) = make()
        conn.feed(get("/a", "Connection: close\r\n"))
        XCTAssertTrue(conn.isClosed)
        conn.environment.requestService(conn.connection)
        XCTAssertFalse(conn.environment.hasServiceRequests)
        let (open, _) = make()
        open.environment.requestService(open.connection)
        XCTAssertTrue(open.environment.hasServiceRequests, "an open one is")
        open.endIteration()
        XCTAssertFalse(open.environment.hasServiceRequests)
    }

    func testHundredPipelinedRequestsAnsweredInOrderInBatches() {
        let (conn, handler) = make()
        conn.feed((0..<100).map { get("/r\($0)") }.joined())
        let responses = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(responses.map(\.body), (0..<100).map { "/r\($0)" })
        XCTAssertEqual(handler.handled.count, 100)
        // 64 responses per batch: two writes, not one per response.
        XCTAssertEqual(conn.transport.writeCalls, 2)
        XCTAssertTrue(conn.connection.isIdle)
    }

    func testRequestSplitAcrossReadsIsAnsweredOnce() {
        let (conn, handler) = make()
        let bytes = Array(get("/split").utf8)
        for b in bytes { conn.feed([b]) }
        XCTAssertEqual(handler.handled, ["/split"])
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).map(\.body), ["/split"])
    }

    func testDeferredResponsesKeepRequestOrder() {
        let (conn, handler) = make()
        conn.feed(get("/a") + get("/defer1") + get("/b") + get("/defer2") + get("/c"))
        // Later requests wait for the deferred one.
        XCTAssertEqual(handler.handled, ["/a", "/defer1"])
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).map(\.body), ["/a"])
        handler.sinks["/defer1"]!.respond(ScriptedHandler.text("late1"))
        conn.endIteration()
        XCTAssertEqual(handler.handled, ["/a", "/defer1", "/b", "/defer2"])
        handler.sinks["/defer2"]!.respond(ScriptedHandler.text("late2"))
        conn.endIteration()
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).map(\.body), ["late1", "/b", "late2", "/c"])
        XCTAssertEqual(handler.done.map(\.path), ["/a", "/defer1", "/b", "/defer2", "/c"])
    }

    func testDeferredCompletionsOutOfOrderAcrossConnectionsStayInEachOrder() {
        let handler = ScriptedHandler()
        let one = EmbeddedConnection(plugins: [handler]), two = EmbeddedConnection(plugins: [handler])
        one.feed(get("/defer-one") + get("/after-one"))
        two.feed(get("/defer-two") + get("/after-two"))
        handler.sinks["/defer-two"]!.respond(ScriptedHandler.text("two"))
        two.endIteration()
        XCTAssertEqual(ParsedResponse.parseAll(two.takeOutput()).map(\.body), ["two", "/after-two"])
        XCTAssertEqual(one.takeOutput(), "")
        handler.sinks["/defer-one"]!.respond(ScriptedHandler.text("one"))
        one.endIteration()
        XCTAssertEqual(ParsedResponse.parseAll(one.takeOutput()).map(\.body), ["one", "/after-one"])
    }

    func testDeferredAnsweredBeforeHandleReturnsIsInline() {
        let (conn, handler) = make()
        handler.answerEarly = ["/defer-now"]
        conn.feed(get("/defer-now") + get("/next"))
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).map(\.body), ["/defer-now", "/next"])
    }

    func testStreamedDeferredResponseAndAbortResets() {
        let (conn, handler) = make()
        conn.feed(get("/defer-stream"))
        let sink = handler.sinks["/defer-stream"]!
        var h = HTTPHeaders()
        h.add("Content-Length", "6")
        sink.start(Response(status: 200, headers: h))
        sink.write(Array("abc".utf8))
        conn.endIteration()
        XCTAssertTrue(conn.takeOutput().hasSuffix("\r\n\r\nabc"))
        sink.abort()
        conn.endIteration()
        XCTAssertEqual(conn.state, .closed(reset: true))
    }

    func testStreamedResponseToAClosingRequestIsWholeBeforeTheClose() {
        let (conn, handler) = make()
        conn.feed(get("/defer-s", "Connection: close\r\n"))
        let sink = handler.sinks["/defer-s"]!
        var h = HTTPHeaders()
        h.add("Content-Length", "6")
        sink.start(Response(status: 200, headers: h))
        conn.endIteration()
        sink.write(Array("abc".utf8))
        conn.endIteration()
        XCTAssertEqual(conn.state, .open)
        sink.write(Array("def".utf8))
        sink.finish()
        conn.endIteration()
        let r = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(r.map(\.body), ["abcdef"])
        XCTAssertEqual(r.first?.header("Connection"), "close")
        XCTAssertEqual(conn.state, .closed(reset: false))
    }

    func testClosingCancelsThePendingDeferredResponse() {
        let (conn, handler) = make()
        conn.feed(get("/defer-x"))
        var cancelled = false
        handler.sinks["/defer-x"]!.onCancel = { cancelled = true }
        conn.connection.didClose()
        XCTAssertTrue(cancelled)
        handler.sinks["/defer-x"]!.respond(ScriptedHandler.text("too late"))
        XCTAssertEqual(conn.takeOutput(), "")
    }

    func testBackpressureDeliversEverythingInOrderThroughSmallWrites() {
        let (conn, handler) = make()
        conn.transport.writeLimit = 7
        conn.feed(get("/big/5000") + get("/b") + get("/big/3000"))
        XCTAssertEqual(conn.state, .waitingForWritable)
        XCTAssertTrue(conn.connection.outputBlocked)
        conn.drain()
        XCTAssertEqual(conn.state, .open)
        XCTAssertTrue(conn.transport.chunks.allSatisfy { $0.count <= 7 })
        let r = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(r.map(\.body.count), [5000, 2, 3000])
        XCTAssertEqual(r[1].body, "/b")
        XCTAssertEqual(handler.handled.count, 3)
    }

    func testPipelinedInputWaitsWhileOutputIsBlocked() {
        let (conn, handler) = make()
        conn.transport.writeLimit = 0
        conn.feed((0..<70).map { get("/r\($0)") }.joined())
        // One batch answered; the rest waits for the socket.
        XCTAssertEqual(handler.handled.count, HTTP1Connection.batchLimitResponses)
        XCTAssertEqual(conn.state, .waitingForWritable)
        conn.transport.writeLimit = nil
        conn.drain()
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).map(\.body), (0..<70).map { "/r\($0)" })
    }

    private func assertErrorMidPipeline(_ bad: String, status: Int, configure: (inout ServerConfig) -> Void = { _ in },
                                        file: StaticString = #filePath, line: UInt = #line) {
        let (conn, handler) = make(configure)
        conn.feed(get("/a") + get("/b") + bad + get("/never"))
        let r = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(r.map(\.status), [200, 200, status], file: file, line: line)
        XCTAssertEqual(r.last?.header("Connection"), "close", file: file, line: line)
        XCTAssertFalse(handler.handled.contains("/never"), file: file, line: line)
        XCTAssertEqual(conn.state, .lingering, file: file, line: line)
        XCTAssertTrue(conn.transport.outputShutdown, file: file, line: line)
    }

    func testBadRequestInPipelineAnswers400AndLingers() {
        assertErrorMidPipeline("GARBAGE\r\n\r\n", status: 400)
    }

    func testBodyTooLargeInPipelineAnswers413() {
        assertErrorMidPipeline("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", status: 413) { $0.maxRequestBody = 100 }
    }

    func testHeadersTooLargeInPipelineAnswers431() {
        let huge = "GET /h HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "x", count: 70_000))\r\n\r\n"
        assertErrorMidPipeline(huge, status: 431)
    }

    func testLingeringCloseDiscardsInputAndEndsOnTimeout() {
        let (conn, handler) = make()
        conn.feed("BAD\r\n\r\n")
        XCTAssertEqual(conn.state, .lingering)
        _ = conn.takeOutput()
        conn.feed(get("/ignored"))
        XCTAssertEqual(conn.takeOutput(), "")
        XCTAssertTrue(handler.handled.isEmpty)
        conn.advance(bySeconds: 1)
        XCTAssertEqual(conn.state, .lingering)
        conn.advance(bySeconds: 1.5)
        XCTAssertEqual(conn.state, .closed(reset: false))
    }

    func testKeepAliveRequestLimitClosesAfterTheLast() {
        let (conn, handler) = make { $0.keepaliveRequests = 3 }
        conn.feed((0..<5).map { get("/k\($0)") }.joined())
        let r = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(r.map(\.body), ["/k0", "/k1", "/k2"])
        XCTAssertNil(r[1].header("Connection"))
        XCTAssertEqual(r[2].header("Connection"), "close")
        XCTAssertEqual(handler.handled.count, 3)
        XCTAssertEqual(conn.state, .lingering)
    }

    func testConnectionCloseRequestClosesWithoutLingering() {
        let (conn, _) = make()
        conn.feed(get("/bye", "Connection: close\r\n") + get("/never"))
        let r = ParsedResponse.parseAll(conn.takeOutput())
        XCTAssertEqual(r.map(\.body), ["/bye"])
        XCTAssertEqual(r[0].header("Connection"), "close")
        XCTAssertEqual(conn.state, .closed(reset: false))
    }

    func testHTTP10KeepAliveIsAnnounced() {
        let (conn, _) = make()
        conn.feed("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).first?.header("Connection"), "keep-alive")
        XCTAssertEqual(conn.state, .open)
    }

    func testHeadSendsLengthButNoBody() {
        let (conn, _) = make()
        conn.feed("HEAD /big/1234 HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after"))
        let r = ParsedResponse.parseAll(conn.takeOutput(), bodiless: [0])
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r[0].header("Content-Length"), "1234")
        XCTAssertEqual(r[0].body, "")
        XCTAssertEqual(r[1].body, "/after")
    }

    func testHeaderTimeoutClosesAPartialHead() {
        let (conn, _) = make { $0.headerTimeout = 5 }
        conn.feed("GET /slow HTTP/1.1\r\nHo")
        conn.advance(bySeconds: 4)
        XCTAssertEqual(conn.state, .open)
        conn.feed("s")  // activity does not extend a head's deadline
        conn.advance(bySeconds: 1.5)
        XCTAssertEqual(conn.state, .closed(reset: false))
    }

    func testFirstRequestMustArriveWithinTheHeaderTimeout() {
        let (conn, _) = make { $0.headerTimeout = 5; $0.keepaliveTimeout = 60 }
        conn.advance(bySeconds: 5.5)
        XCTAssertEqual(conn.state, .closed(reset: false))
    }

    /// The state is unchanged `before` seconds on, and `expected` `after` more.
    private func assertTimesOut(_ conn: EmbeddedConnection, before: Double, after: Double, _ expected: EmbeddedConnection.State,
                                file: StaticString = #filePath, line: UInt = #line) {
        let state = conn.state
        conn.advance(bySeconds: before)
        XCTAssertEqual(conn.state, state, file: file, line: line)
        conn.advance(bySeconds: after)
        XCTAssertEqual(conn.state, expected, file: file, line: line)
    }

    func testKeepAliveTimeoutClosesAnIdleConnection() {
        let (conn, _) = make { $0.headerTimeout = 5; $0.keepaliveTimeout = 20 }
        conn.feed(get("/a"))
        assertTimesOut(conn, before: 10, after: 10.5, .closed(reset: false))
    }

    func testSlowBodyFallsUnderTheHeaderTimeout() {
        let (conn, _) = make { $0.headerTimeout = 5; $0.keepaliveTimeout = 60 }
        conn.feed("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345")
        conn.advance(bySeconds: 5.5)
        XCTAssertEqual(conn.state, .closed(reset: false))
    }

    func testWriteTimeoutResetsAClientThatStoppedReading() {
        let (conn, _) = make { $0.writeTimeout = 3; $0.keepaliveTimeout = 60 }
        conn.transport.writeLimit = 0
        conn.feed(get("/a"))
        XCTAssertEqual(conn.state, .waitingForWritable)
        assertTimesOut(conn, before: 2, after: 1.5, .closed(reset: true))
    }

    func testPendingDeferredResponseIsNotTimedOutByTheServer() {
        let (conn, _) = make { $0.keepaliveTimeout = 1; $0.headerTimeout = 1 }
        conn.feed(get("/defer-wait"))
        conn.advance(bySeconds: 30)
        XCTAssertEqual(conn.state, .open)
    }

    func testDrainClosesIdleAndFinishesBusyConnections() {
        let (idle, _) = make()
        idle.feed(get("/a"))
        XCTAssertTrue(idle.connection.beginDrain())
        let (busy, handler) = make()
        busy.feed(get("/defer-d"))
        XCTAssertFalse(busy.connection.beginDrain())
        busy.environment.draining = true
        handler.sinks["/defer-d"]!.respond(ScriptedHandler.text("done"))
        busy.endIteration()
        let r = ParsedResponse.parseAll(busy.takeOutput())
        XCTAssertEqual(r.map(\.body), ["done"])
        // Closed once the response is out (its head was settled before the drain began).
        XCTAssertEqual(busy.state, .closed(reset: false))
    }

    func testPipelinePhasesVisitOnlyRegisteredPlugins() {
        final class FilterOnly: Plugin {
            let name = "f"
            var phases: PluginPhases { .filter }
            var handleCalls = 0
            func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult { handleCalls += 1; return .pass }
            func filter(_ request: HTTPRequest, response: inout Response, context: RequestContext) { response.headers.add("X-F", "1") }
        }
        let f = FilterOnly(), handler = ScriptedHandler()
        let conn = EmbeddedConnection(plugins: [f, handler])
        conn.feed(get("/p"))
        XCTAssertEqual(f.handleCalls, 0)
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).first?.header("X-F"), "1")
    }
}
