import CapuchinServer
import HTTPCore
import XCTest
@testable import FileCache

final class FileCachePluginTests: XCTestCase {
    private func request(_ path: String, method: String = "GET", headers: [(String, String)] = []) -> HTTPRequest {
        HTTPRequest(method: method, target: path, path: path, query: nil, version: .http11,
                    headers: HTTPHeaders(headers), framing: .none, keepAlive: true, host: "example.com")
    }

    private func context(_ root: String, worker: Int = 0) -> RequestContext {
        RequestContext(connection: ConnectionInfo(id: 1, workerID: worker, peerAddress: "127.0.0.1", peerPort: 1, localPort: 2),
                       site: Site(names: ["example.com", "www.example.com"], root: root), startNanos: 0)
    }

    /// What the static handler would answer for `path`.
    private func staticResponse(_ file: String) throws -> Response {
        let origin = try makeOrigin(file)
        return Response(status: 200, body: .file(origin.file, offset: 0, count: origin.identity.size), origin: origin)
    }

    /// Runs one request through the plugin the way the server does.
    private func serve(_ plugin: FileCachePlugin, _ req: HTTPRequest, _ ctx: RequestContext, file: String?) throws -> Response {
        var r = try plugin.handle(req, context: ctx).response ?? (file.map(staticResponse) ?? Response(status: 404))
        plugin.filter(req, response: &r, context: ctx)
        return r
    }

    func testEntryInsideRootIsAByteBoundaryCheck() {
        XCTAssertTrue(FileCachePlugin.isInside("/srv/www/a.html", root: "/srv/www"))
        XCTAssertTrue(FileCachePlugin.isInside("/srv/www/a.html", root: "/srv/www/"))
        XCTAssertTrue(FileCachePlugin.isInside("/srv/www", root: "/srv/www"))
        XCTAssertTrue(FileCachePlugin.isInside("/x", root: "/"))
        XCTAssertFalse(FileCachePlugin.isInside("/srv/www2/a.html", root: "/srv/www"))
        XCTAssertFalse(FileCachePlugin.isInside("/srv/ww", root: "/srv/www"))
        XCTAssertFalse(FileCachePlugin.isInside("/other/a.html", root: "/srv/www"))
        XCTAssertFalse(FileCachePlugin.isInside("/srv/www/a", root: ""))
    }

    func testMissThenHit() throws {
        let dir = TempDir()
        let file = dir.write("a.txt", "hello")
        let plugin = FileCachePlugin(cache: makeCache(testConfig()))
        let miss = try serve(plugin, request("/a.txt"), context(dir.path), file: file)
        XCTAssertEqual(miss.headers["X-Cache"], "MISS")
        let hit = try serve(plugin, request("/a.txt"), context(dir.path), file: file)
        XCTAssertNil(hit.origin)
        guard case .mapped(_, 0, 5) = hit.body else { return XCTFail("hit body is the mapping: \(hit.body)") }
        XCTAssertTrue(String(decoding: hit.preformattedHeaders ?? [], as: UTF8.self).contains("X-Cache: HIT\r\n"))
        XCTAssertNil(hit.headers["X-Cache"], "no second X-Cache header")
        let head = try serve(plugin, request("/a.txt", method: "HEAD"), context(dir.path), file: file)
        XCTAssertEqual(head.body.count, 5, "the server takes Content-Length from the body and sends none for HEAD")
        XCTAssertEqual(plugin.cache.stats().bytesServed, 5)
    }

    func testBypassForOtherMethodsRulesAndNonFiles() throws {
        let dir = TempDir()
        let file = dir.write("a.php", "<?php")
        let plugin = FileCachePlugin(cache: makeCache(testConfig { $0.excludeExtensions = ["php"] }))
        XCTAssertEqual(try serve(plugin, request("/a.php", method: "POST"), context(dir.path), file: file).headers["X-Cache"], "BYPASS")
        XCTAssertEqual(try serve(plugin, request("/a.php"), context(dir.path), file: file).headers["X-Cache"], "BYPASS")
        XCTAssertEqual(try serve(plugin, request("/a.php"), context(dir.path), file: file).headers["X-Cache"], "BYPASS",
                       "a rejected file is never admitted")
        XCTAssertEqual(try serve(plugin, request("/none"), context(dir.path), file: nil).headers["X-Cache"], "MISS")
    }

    func testDeletedFileFallsThroughToStaticHandler() throws {
        let dir = TempDir()
        let file = dir.write("a.txt", "hello")
        let plugin = FileCachePlugin(cache: makeCache(testConfig()))
        _ = try serve(plugin, request("/a.txt"), context(dir.path), file: file)
        unlink(file)
        let r = try serve(plugin, request("/a.txt"), context(dir.path), file: nil)
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.headers["X-Cache"], "MISS")
    }

    func testConditionalAndRangeRequestsOnHits() throws {
        let dir = TempDir()
        let file = dir.write("a.txt", "hello")
        let plugin = FileCachePlugin(cache: makeCache(testConfig()))
        let first = try serve(plugin, request("/a.txt"), context(dir.path), file: file)
        let etag = try XCTUnwrap(first.origin?.etag)
        let ranged = try XCTUnwrap(plugin.handle(request("/a.txt", headers: [("Range", "bytes=1-2")]), context: context(dir.path)).response)
        XCTAssertEqual(ranged.status, 206)
        XCTAssertEqual(ranged.headers["Content-Range"], "bytes 1-2/5")
        guard case .mapped(_, 1, 2) = ranged.body else { return XCTFail("a range of the mapping: \(ranged.body)") }
        XCTAssertEqual(ranged.headers["X-Cache"], "HIT")
        let notModified = try XCTUnwrap(plugin.handle(request("/a.txt", headers: [("If-None-Match", etag)]), context: context(dir.path)).response)
        XCTAssertEqual(notModified.status, 304)
        XCTAssertEqual(notModified.body.count, 0)
        let bad = try XCTUnwrap(plugin.handle(request("/a.txt", headers: [("Range", "bytes=9-")]), context: context(dir.path)).response)
        XCTAssertEqual(bad.status, 416)
        var filtered = notModified
        let ctx = context(dir.path)
        ctx.notes["x-cache"] = "HIT"
        plugin.filter(request("/a.txt"), response: &filtered, context: ctx)
        XCTAssertEqual(filtered.headers.values("X-Cache"), ["HIT"])
        XCTAssertTrue(HitResponder.needsRepresentationLogic(request("/a", headers: [("if-none-match", "\"x\"")])))
        XCTAssertTrue(HitResponder.needsRepresentationLogic(request("/a", headers: [("Accept", "*/*"), ("IF-RANGE", "x")])))
        XCTAssertTrue(HitResponder.needsRepresentationLogic(request("/a", headers: [("RANGE", "bytes=0-1")])))
        XCTAssertFalse(HitResponder.needsRepresentationLogic(request("/a", headers: [("Accept", "*/*"), ("Ifx", "1"), ("Rangex", "1"), ("I", "")])))
    }

    func testXCacheHeaderSwitch() throws {
        let dir = TempDir()
        let file = dir.write("a.txt", "hello")
        let plugin = FileCachePlugin(cache: makeCache(testConfig { $0.xCacheHeader = false }))
        XCTAssertNil(try serve(plugin, request("/a.txt"), context(dir.path), file: file).headers["X-Cache"])
    }

    func testServerStoppedFlushes() throws {
        let store = MemoryPersistence()
        let plugin = FileCachePlugin(cache: makeCache(testConfig(), persistence: store))
        XCTAssertEqual(store.flushes, 0)
        plugin.serverStopped()
        XCTAssertEqual(store.flushes, 1)
    }
}
