import Foundation
import XCTest
@testable import Admin

final class AdminRouterTests: XCTestCase {
    private func json(_ r: AdminReply) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
    }

    private func router(token: String? = nil) -> (AdminRouter, FakeAdminBackend) {
        let b = FakeAdminBackend()
        for i in 0..<30 { b.add("site/f\(i).html", size: 100 * (i + 1), hits: UInt64(i)) }
        b.add("other/x.css", size: 5, hits: 1000)
        return (AdminRouter(backend: b, token: token, rates: RequestRateTracker(), chartJS: nil), b)
    }

    func testStatsReportsBackendFigures() throws {
        let (r, b) = router()
        b.state.withLock { $0.cache.hits = 30; $0.cache.misses = 10; $0.server.requests = 40; $0.server.connectionsPerWorker = [2, 3] }
        let reply = r.respond(method: "GET", path: "/api/stats", query: nil, authorization: nil)
        XCTAssertEqual(reply.status, 200)
        let doc = try json(reply)
        XCTAssertEqual(doc["requests"] as? Int, 40)
        XCTAssertEqual(doc["connections_per_worker"] as? [Int], [2, 3])
        let cache = try XCTUnwrap(doc["cache"] as? [String: Any])
        XCTAssertEqual(cache["hits"] as? Int, 30)
        XCTAssertEqual(cache["entries"] as? Int, 31)
        XCTAssertEqual(try XCTUnwrap(cache["hit_ratio"] as? Double), 0.75, accuracy: 1e-9)
    }

    func testEntriesPagingSortAndPrefix() throws {
        let (r, _) = router()
        let first = try json(r.respond(method: "GET", path: "/api/entries", query: "sort=hits&limit=2", authorization: nil))
        let rows = try XCTUnwrap(first["entries"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["key"] as? String }, ["other/x.css", "site/f29.html"])
        XCTAssertEqual(first["total"] as? Int, 31)
        XCTAssertEqual(first["next_cursor"] as? String, "2")
        let next = try json(r.respond(method: "GET", path: "/api/entries", query: "sort=hits&limit=2&cursor=2", authorization: nil))
        XCTAssertEqual((next["entries"] as? [[String: Any]])?.first?["key"] as? String, "site/f28.html")
        let pre = try json(r.respond(method: "GET", path: "/api/entries", query: "prefix=other%2F&limit=10", authorization: nil))
        XCTAssertEqual(pre["total"] as? Int, 1)
        XCTAssertNil(pre["next_cursor"] as? String)
    }

    func testBadParametersAre400WithMessage() throws {
        let (r, _) = router()
        for (path, q, needle) in [("/api/entries", "sort=bogus", "sort"), ("/api/entries", "limit=0", "limit"),
                                  ("/api/entries", "limit=abc", "limit"), ("/api/entries", "color=red", "color"),
                                  ("/api/cache", "", "exactly one"), ("/api/cache", "key=a&prefix=b", "exactly one"),
                                  ("/api/cache", "all=yes", "all"), ("/api/cache", "prefix=", "prefix"),
                                  ("/api/cache", "key=%zz", "escape"), ("/api/entries", "prefix=a&prefix=b", "more than once")] {
            let method = path == "/api/cache" ? "DELETE" : "GET"
            let reply = r.respond(method: method, path: path, query: q, authorization: nil)
            XCTAssertEqual(reply.status, 400, "\(path)?\(q)")
            let msg = try XCTUnwrap(try json(reply)["error"] as? String)
            XCTAssertTrue(msg.contains(needle), "\(path)?\(q): \(msg)")
        }
        XCTAssertEqual(r.respond(method: "POST", path: "/api/stats", query: nil, authorization: nil).status, 405)
        XCTAssertEqual(r.respond(method: "GET", path: "/api/cache", query: "all=1", authorization: nil).status, 405)
        XCTAssertEqual(r.respond(method: "GET", path: "/nope", query: nil, authorization: nil).status, 404)
    }

    func testPurgeAndClearRemoveWhatTheySay() throws {
        let (r, b) = router()
        var reply = try json(r.respond(method: "DELETE", path: "/api/cache", query: "key=other/x.css", authorization: nil))
        XCTAssertEqual(reply["removed"] as? Int, 1)
        XCTAssertEqual(b.entries(prefix: "other/", sort: .key, limit: 10, offset: 0).total, 0)
        reply = try json(r.respond(method: "DELETE", path: "/api/cache", query: "prefix=site/f1", authorization: nil))
        XCTAssertEqual(reply["removed"] as? Int, 11) // f1, f10...f19
        reply = try json(r.respond(method: "DELETE", path: "/api/cache", query: "all=1", authorization: nil))
        XCTAssertEqual(reply["removed"] as? Int, 19)
        XCTAssertEqual(b.cacheFigures()?.entries, 0)
    }

    func testPurgeByTagAndSoftPurgeParameters() throws {
        let (r, b) = router()
        func purge(_ q: String) -> AdminReply { r.respond(method: "DELETE", path: "/api/cache", query: q, authorization: nil) }
        var reply = try json(purge("tag=a&tag=b,%20c&tag=a"))
        XCTAssertEqual(reply["removed"] as? Int, 3)
        XCTAssertEqual(reply["scope"] as? String, "tag")
        XCTAssertEqual(reply["value"] as? String, "a,b,c")
        XCTAssertNil(reply["soft"])
        reply = try json(purge("tag=x&soft=1"))
        XCTAssertEqual(reply["soft"] as? Bool, true)
        XCTAssertEqual(try json(purge("key=k&soft=1"))["removed"] as? Int, 1)
        XCTAssertEqual(try json(purge("prefix=p&soft=1"))["removed"] as? Int, 2)
        XCTAssertEqual(try json(purge("key=other/x.css&soft=0"))["removed"] as? Int, 1, "soft=0 is a hard purge")
        XCTAssertEqual(b.purgeCalls.withLock { $0 }, ["tags [\"a\", \"b\", \"c\"] soft false", "tags [\"x\"] soft true",
                                                       "soft key k", "soft prefix p"])
        for (q, status, words) in [("tag=", 400, "tag is empty"), ("tag=,%20,", 400, "tag is empty"),
                                   ("tag=a&key=k", 400, "exactly one"), ("tag=a&soft=yes", 400, "0 or 1"),
                                   ("all=1&soft=1", 400, "soft purge"), ("key=k&key=j", 400, "more than once"),
                                   ("tag=broken", 503, "purging by tag failed")] {
            let reply = purge(q)
            XCTAssertEqual(reply.status, status, q)
            XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains(words), "\(q): \(String(decoding: reply.body, as: UTF8.self))")
        }
    }

    func testTokenRequiredForDataAndActions() throws {
        let (r, b) = router(token: "s3cret")
        for (m, p, q) in [("GET", "/api/stats", ""), ("GET", "/api/entries", ""), ("GET", "/metrics", ""), ("DELETE", "/api/cache", "all=1")] {
            for auth in [nil, "Bearer wrong", "Bearer s3cre", "Basic s3cret", "Bearer s3cretX"] {
                let reply = r.respond(method: m, path: p, query: q, authorization: auth)
                XCTAssertEqual(reply.status, 401, "\(m) \(p) with \(auth ?? "none")")
                XCTAssertTrue(reply.headers.contains { $0.0 == "WWW-Authenticate" })
            }
        }
        XCTAssertEqual(b.cacheFigures()?.entries, 31, "nothing changed without the token")
        XCTAssertEqual(r.respond(method: "GET", path: "/api/stats", query: nil, authorization: "Bearer s3cret").status, 200)
        XCTAssertEqual(r.respond(method: "GET", path: "/", query: nil, authorization: nil).status, 200)
    }

    func testMetricsMatchStats() throws {
        let (r, b) = router()
        b.state.withLock { $0.cache.hits = 7; $0.cache.misses = 3; $0.server.requests = 10; $0.server.connectionsPerWorker = [1, 0] }
        let text = String(decoding: r.respond(method: "GET", path: "/metrics", query: nil, authorization: nil).body, as: UTF8.self)
        XCTAssertTrue(text.contains("\ncapuchin_cache_hits_total 7\n"))
        XCTAssertTrue(text.contains("\ncapuchin_cache_misses_total 3\n"))
        XCTAssertTrue(text.contains("\ncapuchin_requests_total 10\n"))
        XCTAssertTrue(text.contains("capuchin_connections{worker=\"1\"} 0\n"))
        XCTAssertTrue(text.contains("# TYPE capuchin_cache_entries gauge\ncapuchin_cache_entries 31\n"))
    }

    func testRateTrackerWindows() {
        let t = RequestRateTracker()
        XCTAssertEqual(t.rate(window: 1), 0)
        for s in 0...70 { t.record(count: UInt64(s * 100 + (s >= 60 ? (s - 60) * 400 : 0)), nanos: UInt64(s) * 1_000_000_000) }
        XCTAssertEqual(t.rate(window: 1), 500, accuracy: 0.01)      // last second: 100 + 400
        XCTAssertEqual(t.rate(window: 60), (7000 + 4000 - 1000) / 60.0, accuracy: 0.01)
    }
}
