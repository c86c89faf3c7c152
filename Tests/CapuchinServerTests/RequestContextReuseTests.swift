import HTTPCore
import XCTest
@testable import CapuchinServer

/// A connection reuses its last request's context when nothing kept it: the
/// next request must see it as new, and a context something kept must never change.
final class RequestContextReuseTests: XCTestCase {
    final class Recorder: Plugin {
        struct Seen { var id: ObjectIdentifier; var verdict: String?; var upstream: String?; var start: UInt64 }
        let name = "recorder"
        var phases: PluginPhases { .handle }
        var keep = false
        private(set) var kept: [RequestContext] = []
        private(set) var seen: [Seen] = []

        func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
            seen.append(Seen(id: ObjectIdentifier(context), verdict: context.cacheVerdict, upstream: context.upstream,
                             start: context.startNanos))
            context.cacheVerdict = "HIT" + request.path
            context.upstream = "origin" + request.path
            if keep { kept.append(context) }
            return .respond(ScriptedHandler.text(request.path))
        }
    }

    private func get(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n" }

    func testAContextNothingKeptIsReusedAsNew() throws {
        let recorder = Recorder()
        let conn = EmbeddedConnection(plugins: [recorder])
        conn.feed(get("/a"))
        conn.environment.now += 5_000
        conn.feed(get("/b"))
        XCTAssertEqual(ParsedResponse.parseAll(conn.takeOutput()).map(\.body), ["/a", "/b"])
        let seen = recorder.seen
        XCTAssertEqual(seen.count, 2)
        XCTAssertEqual(seen[1].id, seen[0].id, "the first context (held by the connection) was not reused")
        XCTAssertNil(seen[1].verdict)
        XCTAssertNil(seen[1].upstream)
        XCTAssertEqual(seen[1].start, seen[0].start + 5_000)
    }

    func testAContextAPluginKeptIsNeverReused() throws {
        let recorder = Recorder()
        recorder.keep = true
        let conn = EmbeddedConnection(plugins: [recorder])
        conn.feed(get("/a"))
        conn.feed(get("/b"))
        XCTAssertEqual(recorder.kept.count, 2)
        XCTAssertFalse(recorder.kept[0] === recorder.kept[1])
        XCTAssertEqual(recorder.kept[0].cacheVerdict, "HIT/a")
        XCTAssertEqual(recorder.kept[0].upstream, "origin/a")
        XCTAssertNil(recorder.seen[1].verdict)
    }
}
