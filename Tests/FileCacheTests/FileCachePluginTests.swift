@testable import CapuchinServer
import CapuchinSystem
import Glibc
import HTTPCore
import XCTest
@testable import FileCache

/// The cache beneath the real static handler: every request goes through
/// `StaticFilePlugin.handle` with a `FileCacheSource`, as the server dispatches it.
final class FileCachePluginTests: XCTestCase {
    private func request(_ path: String, method: String = "GET", headers: [(String, String)] = []) -> HTTPRequest {
        HTTPRequest(method: method, target: path, path: path, query: nil, version: .http11,
                    headers: HTTPHeaders(headers), framing: .none, keepAlive: true, host: "example.com")
    }

    private func context(_ root: String, worker: Int = 0, receivedBy: UInt64 = .max) throws -> RequestContext {
        let site = Site(names: ["example.com", "www.example.com"], root: root, rootHandle: try DirectoryHandle(path: root))
        return RequestContext(connection: ConnectionInfo(id: 1, workerID: worker, peerAddress: "127.0.0.1", peerPort: 1, localPort: 2),
                              site: site, startNanos: 0, receivedByNanos: receivedBy)
    }

    private func handler(_ cache: FileCache) -> StaticFilePlugin { StaticFilePlugin(source: FileCacheSource(cache: cache)) }

    /// Runs one request through the static handler the way the server does.
    private func serve(_ h: StaticFilePlugin, _ req: HTTPRequest, _ ctx: RequestContext) throws -> Response {
        try XCTUnwrap(h.handle(req, context: ctx).response, "the static handler answers every request")
    }

    private func serve(_ h: StaticFilePlugin, _ path: String, in dir: TempDir, method: String = "GET",
                       headers: [(String, String)] = []) throws -> Response {
        try serve(h, request(path, method: method, headers: headers), context(dir.path))
    }

    /// The response's X-Cache value, in its headers or its prebuilt head.
    private func mark(_ r: Response) -> String? {
        if let v = r.headers["X-Cache"] { return v }
        let head = String(decoding: r.preformattedHeaders ?? [], as: UTF8.self)
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("X-Cache: ") }) else { return nil }
        return String(line.dropFirst(9))
    }

    func testEntryInsideRootIsAByteBoundaryCheck() {
        XCTAssertTrue(FileCacheSource.isInside("/srv/www/a.html", root: "/srv/www"))
        XCTAssertTrue(FileCacheSource.isInside("/srv/www/a.html", root: "/srv/www/"))
        XCTAssertTrue(FileCacheSource.isInside("/srv/www", root: "/srv/www"))
        XCTAssertTrue(FileCacheSource.isInside("/x", root: "/"))
        XCTAssertFalse(FileCacheSource.isInside("/srv/www2/a.html", root: "/srv/www"))
        XCTAssertFalse(FileCacheSource.isInside("/srv/ww", root: "/srv/www"))
        XCTAssertFalse(FileCacheSource.isInside("/other/a.html", root: "/srv/www"))
        XCTAssertFalse(FileCacheSource.isInside("/srv/www/a", root: ""))
    }

    func testMissThenHit() throws {
        let dir = TempDir()
        dir.write("a.txt", "hello")
        let cache = makeCache(testConfig())
        let h = handler(cache)
        let miss = try serve(h, "/a.txt", in: dir)
        XCTAssertEqual(miss.status, 200)
        XCTAssertEqual(miss.headers["X-Cache"], "MISS")
        XCTAssertNil(miss.preformattedHeaders, "a miss's head is built as the static handler always built it")
        XCTAssertEqual(miss.headers.fields.map(\.name), ["Content-Type", "Last-Modified", "ETag", "Accept-Ranges", "X-Cache", "Cache-Status"])
        XCTAssertEqual(miss.headers["Cache-Status"], "capuchin; fwd=uri-miss")
        XCTAssertEqual(bytes(of: miss.body), "hello")
        let hit = try serve(h, "/a.txt", in: dir)
        guard case .mapped(_, 0, 5) = hit.body else { return XCTFail("hit body is the mapping: \(hit.body)") }
        let head = String(decoding: hit.preformattedHeaders ?? [], as: UTF8.self)
        XCTAssertTrue(head.contains("X-Cache: HIT\r\n"))
        XCTAssertTrue(head.contains("ETag: \(miss.headers["ETag"] ?? "?")\r\n"))
        XCTAssertTrue(head.contains("Last-Modified: \(miss.headers["Last-Modified"] ?? "?")\r\n"))
        XCTAssertNil(hit.headers["X-Cache"], "no second X-Cache header")
        XCTAssertEqual(bytes(of: hit.body), "hello")
        let headHit = try serve(h, "/a.txt", in: dir, method: "HEAD")
        XCTAssertEqual(headHit.body.count, 5, "the server takes Content-Length from the body and sends none for HEAD")
        XCTAssertEqual(cache.stats().bytesServed, 5)
        XCTAssertEqual(cache.stats().hits, 2)
    }

    /// The point of the seam: a miss opens, reads (or maps) and admits its file
    /// once and is served from that copy; the writer reads nothing more.
    /// One file of `size` bytes, a cache with the real handler over it, and
    /// the read syscalls a first and a second GET made (from the kernel's count).
    private func missThenHit(size: Int) throws -> (miss: Response, missReads: Int, hit: Response, hitReads: Int,
                                                     path: String, entry: CacheEntry?, dir: TempDir) {
        let dir = TempDir()
        let path = dir.write("f.bin", String(repeating: "x", count: size))
        let cache = makeCache(testConfig())
        let h = handler(cache)
        let req = request("/f.bin")
        let ctx = try context(dir.path)
        var miss: Response?, hit: Response?
        let missReads = try readSyscalls { miss = try serve(h, req, ctx) }
        let entry = cache.lookup(site: "example.com", path: "/f.bin", worker: 0)
        let hitReads = try readSyscalls { hit = try serve(h, req, ctx) }
        return (try XCTUnwrap(miss), missReads, try XCTUnwrap(hit), hitReads, path, entry, dir)
    }

    func testSmallMissReadsItsFileOnceAndIsServedFromTheAdmittedCopy() throws {
        let t = try missThenHit(size: 40_000)
        XCTAssertEqual(t.missReads, 1, "one pread of the whole file")
        guard case .mapped(let served, 0, 40_000) = t.miss.body else { return XCTFail("the miss is sent from memory: \(t.miss.body)") }
        XCTAssertTrue(t.entry?.mapping === served, "the miss is served from the snapshot the cache admitted")
        XCTAssertEqual(t.miss.headers["X-Cache"], "MISS")
        XCTAssertEqual(t.hitReads, 0, "a hit reads nothing")
        XCTAssertEqual(t.hit.body.count, 40_000)
    }

    func testLargeMissMapsItsFileOnce() throws {
        let t = try missThenHit(size: 300_000)
        XCTAssertEqual(t.missReads, 0, "mapped, not read")
        XCTAssertEqual(mappings(of: t.path), 1, "one mapping serves the miss and stays as the entry: \(t.path)")
        guard case .mapped(let served, 0, 300_000) = t.miss.body else { return XCTFail("the miss is sent from the mapping: \(t.miss.body)") }
        XCTAssertTrue(t.entry?.mapping === served)
        XCTAssertNotNil(served.source, "a mapped send stops if the file changes")
        XCTAssertEqual(bytes(of: t.miss.body), String(repeating: "x", count: 300_000))
        XCTAssertEqual(t.hitReads, 0)
    }

    func testBypassForOtherMethodsRulesAndNonFiles() throws {
        let dir = TempDir()
        dir.write("a.php", "<?php")
        let h = handler(makeCache(testConfig { $0.excludeExtensions = ["php"] }))
        let post = try serve(h, "/a.php", in: dir, method: "POST")
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.headers["X-Cache"], "BYPASS")
        XCTAssertEqual(try serve(h, "/a.php", in: dir).headers["X-Cache"], "BYPASS")
        XCTAssertEqual(try serve(h, "/a.php", in: dir).headers["X-Cache"], "BYPASS", "a rejected file is never admitted")
        let none = try serve(h, "/none", in: dir)
        XCTAssertEqual(none.status, 404)
        XCTAssertEqual(none.headers["X-Cache"], "MISS")
    }

    /// A file the cache refuses is still sent truncation-safe up to
    /// `max_file_size`: from a mapping above the sendfile threshold.
    func testRejectedFilesKeepTheirBodyRules() throws {
        let dir = TempDir()
        dir.write("mid.bin", String(repeating: "m", count: 100_000))
        dir.write("small.bin", "s")
        dir.write("huge.bin", String(repeating: "h", count: 300_000))
        let h = handler(makeCache(testConfig { $0.maxFileSize = 200_000; $0.minFileSize = 50_000 }))
        let mid = try serve(h, "/mid.bin", in: dir)  // admissible, admitted
        guard case .mapped = mid.body else { return XCTFail("\(mid.body)") }
        let small = try serve(h, "/small.bin", in: dir)
        XCTAssertEqual(small.headers["X-Cache"], "BYPASS")
        guard case .file(_, 0, 1) = small.body else { return XCTFail("a small file is read behind the head: \(small.body)") }
        let huge = try serve(h, "/huge.bin", in: dir)
        XCTAssertEqual(huge.headers["X-Cache"], "BYPASS")
        guard case .file(_, 0, 300_000) = huge.body else { return XCTFail("above max_file_size: sendfile: \(huge.body)") }
        let rangedHuge = try serve(h, "/huge.bin", in: dir, headers: [("Range", "bytes=1-2")])
        XCTAssertEqual(rangedHuge.status, 206)
        XCTAssertEqual(rangedHuge.headers["X-Cache"], "BYPASS")

        let strict = handler(makeCache(testConfig { $0.excludeExtensions = ["bin"] }))
        let refused = try serve(strict, "/mid.bin", in: dir)
        XCTAssertEqual(refused.headers["X-Cache"], "BYPASS")
        guard case .mapped(let m, 0, 100_000) = refused.body else { return XCTFail("mapped above the threshold: \(refused.body)") }
        XCTAssertNotNil(m.source)
    }

    func testDisabledCacheMarksBypassAndAdmitsNothing() throws {
        let dir = TempDir()
        dir.write("a.txt", "hello")
        let cache = makeCache(testConfig { $0.enabled = false })
        let h = handler(cache)
        for _ in 0..<2 { XCTAssertEqual(try serve(h, "/a.txt", in: dir).headers["X-Cache"], "BYPASS") }
        XCTAssertEqual(try serve(h, "/none", in: dir).headers["X-Cache"], "BYPASS")
        XCTAssertEqual(cache.stats().entries, 0)
    }

    func testDeletedFileFallsThroughToTheDirectOpener() throws {
        let dir = TempDir()
        let file = dir.write("a.txt", "hello")
        let h = handler(makeCache(testConfig()))
        _ = try serve(h, "/a.txt", in: dir)
        unlink(file)
        let r = try serve(h, "/a.txt", in: dir)
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.headers["X-Cache"], "MISS")
    }

    /// The per-batch stat rule reaches the cache through the handler: a
    /// replacement completed before a request's arrival is always seen.
    func testReplacedFileIsSeenByARequestReceivedAfterwards() throws {
        let dir = TempDir()
        dir.write("a.txt", "one")
        let h = handler(makeCache(testConfig()))
        _ = try serve(h, request("/a.txt"), context(dir.path, receivedBy: Clock.preciseMonotonicNanos()))
        XCTAssertEqual(mark(try serve(h, request("/a.txt"), context(dir.path, receivedBy: Clock.preciseMonotonicNanos()))), "HIT")
        dir.replaceByRename("a.txt", "two!")
        let after = try serve(h, request("/a.txt"), context(dir.path, receivedBy: Clock.preciseMonotonicNanos()))
        XCTAssertEqual(after.headers["X-Cache"], "MISS")
        XCTAssertEqual(bytes(of: after.body), "two!")
        let again = try serve(h, request("/a.txt"), context(dir.path, receivedBy: Clock.preciseMonotonicNanos()))
        XCTAssertEqual(mark(again), "HIT")
        XCTAssertEqual(bytes(of: again.body), "two!")
    }

    func testConditionalAndRangeRequestsOnHits() throws {
        let dir = TempDir()
        dir.write("a.txt", "hello")
        let h = handler(makeCache(testConfig()))
        let first = try serve(h, "/a.txt", in: dir)
        let etag = try XCTUnwrap(first.headers["ETag"])
        let ranged = try serve(h, "/a.txt", in: dir, headers: [("Range", "bytes=1-2")])
        XCTAssertEqual(ranged.status, 206)
        XCTAssertEqual(ranged.headers["Content-Range"], "bytes 1-2/5")
        guard case .mapped(_, 1, 2) = ranged.body else { return XCTFail("a range of the mapping: \(ranged.body)") }
        XCTAssertEqual(ranged.headers.values("X-Cache"), ["HIT"])
        let notModified = try serve(h, "/a.txt", in: dir, headers: [("If-None-Match", etag)])
        XCTAssertEqual(notModified.status, 304)
        XCTAssertEqual(notModified.body.count, 0)
        XCTAssertEqual(mark(notModified), "HIT")
        let lines = String(decoding: notModified.preformattedHeaders ?? [], as: UTF8.self)
        XCTAssertTrue(lines.contains("ETag: \(etag)\r\n") && lines.contains("Last-Modified: "), lines)
        XCTAssertFalse(lines.contains("Content-Type") || lines.contains("Accept-Ranges"), lines)
        XCTAssertEqual(lines.components(separatedBy: "X-Cache:").count, 2, "one mark: \(lines)")
        XCTAssertTrue(notModified.headers.fields.isEmpty)
        let bad = try serve(h, "/a.txt", in: dir, headers: [("Range", "bytes=9-")])
        XCTAssertEqual(bad.status, 416)
        XCTAssertEqual(bad.headers.values("X-Cache"), ["HIT"])
        let multi = try serve(h, "/a.txt", in: dir, headers: [("Range", "bytes=0-0,3-4")])
        XCTAssertEqual(multi.status, 206)
        XCTAssertTrue(bytes(of: multi.body).contains("lo"))
        XCTAssertTrue(ConditionalEvaluator.hasPreconditionOrRange(HTTPHeaders([("if-none-match", "\"x\"")])))
        XCTAssertTrue(ConditionalEvaluator.hasPreconditionOrRange(HTTPHeaders([("Accept", "*/*"), ("IF-RANGE", "x")])))
        XCTAssertTrue(ConditionalEvaluator.hasPreconditionOrRange(HTTPHeaders([("RANGE", "bytes=0-1")])))
        XCTAssertFalse(ConditionalEvaluator.hasPreconditionOrRange(HTTPHeaders([("Accept", "*/*"), ("Ifx", "1"), ("Rangex", "1"), ("I", "")])))
    }

    func testXCacheHeaderSwitch() throws {
        let dir = TempDir()
        dir.write("a.txt", "hello")
        let cache = makeCache(testConfig { $0.xCacheHeader = false })
        let h = handler(cache)
        XCTAssertNil(try serve(h, "/a.txt", in: dir).headers["X-Cache"])
        let hit = try serve(h, "/a.txt", in: dir)
        guard case .mapped = hit.body else { return XCTFail("a hit: \(hit.body)") }
        XCTAssertFalse(String(decoding: hit.preformattedHeaders ?? [], as: UTF8.self).contains("X-Cache"))
        XCTAssertNil(try serve(h, "/a.txt", in: dir, headers: [("Range", "bytes=0-1")]).headers["X-Cache"])
        XCTAssertNil(try serve(h, "/a.txt", in: dir, method: "POST").headers["X-Cache"])
        XCTAssertEqual(cache.stats().bytesServed, 7, "hits are counted without the header too")
    }

    /// The factory puts the cache beneath the static handler the registry appends last.
    func testFactoryInstallsItsSourceBeneathTheStaticHandler() throws {
        let dir = TempDir()
        let config = try ConfigLoader.parse("cache:\n  dir: \(dir.path)/cache\n", file: "t.yaml")
        let plugins = try PluginRegistry.instantiate([FileCachePlugin.factory(openStore: { _, _, _ in nil })], config: config,
                                                     log: ErrorLog(level: .error), statistics: ServerStatistics(workerCount: 1, startedNanos: 0))
        let cachePlugin = try XCTUnwrap(plugins.first as? FileCachePlugin)
        let handler = try XCTUnwrap(plugins.last as? StaticFilePlugin)
        XCTAssertTrue(handler.source === cachePlugin.source)
        XCTAssertTrue(StaticFilePlugin().source is DirectFileSource, "without the plugin: the direct opener")
        cachePlugin.serverStopped()
    }

    func testServerStoppedFlushes() throws {
        let store = MemoryPersistence()
        let plugin = FileCachePlugin(cache: makeCache(testConfig(), persistence: store))
        XCTAssertEqual(store.flushes, 0)
        plugin.serverStopped()
        XCTAssertEqual(store.flushes, 1)
    }
}
