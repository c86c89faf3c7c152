import CapuchinSystem
import Glibc
import HTTPCore
import XCTest
@testable import CapuchinServer

/// The static handler over its file source: the direct opener, and a source
/// that hands it cached files (prebuilt head, marks), as the file cache does.
final class StaticFilePluginTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/capuchin-static-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw SystemError(call: "mkdtemp", errno: errno) }
        root = String(cString: p)
        mkdir(root + "/dir", 0o755)
        guard let f = fopen(root + "/a.txt", "w") else { throw SystemError(call: "fopen", errno: errno) }
        fputs("hello", f)
        fclose(f)
    }

    override func tearDown() { _ = system("rm -rf '\(root)'") }

    private func serve(_ h: StaticFilePlugin, _ path: String, method: String = "GET", headers: [(String, String)] = []) throws -> Response {
        let req = HTTPRequest(method: method, target: path, path: path, query: nil, version: .http11,
                              headers: HTTPHeaders(headers), framing: .none, keepAlive: true, host: "x")
        let site = Site(names: ["x"], root: root, rootHandle: try DirectoryHandle(path: root))
        let ctx = RequestContext(connection: ConnectionInfo(id: 1, workerID: 3, peerAddress: "127.0.0.1", peerPort: 1, localPort: 2),
                                 site: site, startNanos: 0)
        return try XCTUnwrap(h.handle(req, context: ctx).response)
    }

    func testDirectSourceServesTheOpenFileWithoutAMark() throws {
        let h = StaticFilePlugin()
        let r = try serve(h, "/a.txt")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers.fields.map(\.name), ["Content-Type", "Last-Modified", "ETag", "Accept-Ranges"])
        XCTAssertEqual(r.headers["Content-Type"], "text/plain; charset=utf-8")
        XCTAssertNil(r.preformattedHeaders)
        guard case .file(_, 0, 5) = r.body else { return XCTFail("sent from the open file: \(r.body)") }
        let ranged = try serve(h, "/a.txt", headers: [("Range", "bytes=1-2")])
        XCTAssertEqual(ranged.status, 206)
        guard case .file(_, 1, 2) = ranged.body else { return XCTFail("\(ranged.body)") }
        XCTAssertEqual(try serve(h, "/a.txt", headers: [("If-None-Match", r.headers["ETag"] ?? "")]).status, 304)
        let redirect = try serve(h, "/dir")
        XCTAssertEqual(redirect.status, 301)
        XCTAssertEqual(redirect.headers["Location"], "/dir/")
        XCTAssertEqual(try serve(h, "/missing").status, 404)
        let post = try serve(h, "/a.txt", method: "POST")
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.headers["Allow"], "GET, HEAD")
        XCTAssertEqual(try serve(h, "/a.txt", method: "BREW").status, 501)
        for resp in [r, ranged, redirect, post] { XCTAssertNil(resp.headers["X-Cache"]) }
    }

    func testSiteWithoutAnOpenRootIsNotFound() throws {
        let req = HTTPRequest(method: "GET", target: "/a.txt", path: "/a.txt", query: nil, version: .http11,
                              headers: HTTPHeaders(), framing: .none, keepAlive: true, host: "x")
        let ctx = RequestContext(connection: ConnectionInfo(id: 1, workerID: 0, peerAddress: "", peerPort: 1, localPort: 2),
                                 site: Site(names: ["x"], root: root), startNanos: 0)
        XCTAssertEqual(StaticFilePlugin().handle(req, context: ctx).response?.status, 404)
    }

    func testACachingSourcesHeadServesItsFullResponsesAnd304s() throws {
        let source = try CannedSource(root: root)
        let h = StaticFilePlugin(source: source)
        let plain = try serve(h, "/a.txt")
        XCTAssertEqual(plain.preformattedHeaders, source.head, "a plain hit builds nothing")
        XCTAssertTrue(plain.headers.fields.isEmpty)
        guard case .mapped(_, 0, 5) = plain.body else { return XCTFail("\(plain.body)") }
        XCTAssertEqual(source.served, [5])
        let head = try serve(h, "/a.txt", method: "HEAD")
        XCTAssertEqual(head.body.count, 5, "Content-Length from the body; the server sends none for HEAD")
        XCTAssertEqual(source.served, [5], "HEAD serves no body bytes")
        let ranged = try serve(h, "/a.txt", headers: [("Range", "bytes=1-3")])
        XCTAssertEqual(ranged.status, 206)
        XCTAssertNil(ranged.preformattedHeaders)
        XCTAssertEqual(ranged.headers["Content-Range"], "bytes 1-3/5")
        XCTAssertEqual(ranged.headers.fields.suffix(2).map(\.name), ["X-Cache", "Cache-Status"])
        XCTAssertEqual(ranged.headers.values("X-Cache"), ["HIT"])
        XCTAssertEqual(ranged.headers.values("Cache-Status"), ["capuchin; hit"])
        guard case .mapped(_, 1, 3) = ranged.body else { return XCTFail("\(ranged.body)") }
        XCTAssertEqual(source.served, [5, 3])
        let revalidated = try serve(h, "/a.txt", headers: [("If-None-Match", "\"e\"")])
        XCTAssertEqual(revalidated.status, 304)
        XCTAssertEqual(revalidated.preformattedHeaders.map { String(decoding: $0, as: UTF8.self) },
                       "ETag: \"e\"\r\nX-Canned: 1\r\nX-Cache: HIT\r\n", "the hit's head less the body's fields")
        XCTAssertTrue(revalidated.headers.fields.isEmpty)
        XCTAssertEqual(source.served, [5, 3], "a 304 serves no body bytes")
        let changed = try serve(h, "/a.txt", headers: [("If-None-Match", "\"older\""), ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")])
        XCTAssertEqual(changed.status, 200)
        XCTAssertEqual(changed.preformattedHeaders, source.head, "a failed precondition is the plain hit")
        XCTAssertEqual(source.served, [5, 3, 5])
        XCTAssertEqual(try serve(h, "/a.txt", headers: [("If-Match", "\"older\"")]).status, 412)
        XCTAssertEqual(try serve(h, "/a.txt", method: "PUT").headers["X-Cache"], "BYPASS")
        source.fail = true
        let missing = try serve(h, "/gone")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.headers["X-Cache"], "MISS")
        XCTAssertEqual(source.requests.map(\.path), ["/a.txt", "/a.txt", "/a.txt", "/a.txt", "/a.txt", "/a.txt", "/gone"])
        XCTAssertEqual(Set(source.requests.map(\.workerID)), [3])
        source.fail = false
        source.marksResponses = false
        XCTAssertNil(try serve(h, "/a.txt", headers: [("Range", "bytes=0-0")]).headers["X-Cache"])
        XCTAssertNil(try serve(h, "/a.txt", method: "PUT").headers["X-Cache"])
        XCTAssertEqual(source.served, [5, 3, 5, 1], "a hit is counted whether or not it is marked")
    }

    func testNotModifiedHeadDropsTheBodysFieldsOnly() {
        let head = "content-type: text/css\r\nETag: \"x\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            + "ACCEPT-RANGES: bytes\r\nContent-Length: 9\r\nContent-Encoding: br\r\nVary: Accept-Encoding\r\nX-Cache: HIT\r\n"
        let lines = NotModifiedHead.lines(from: Array(head.utf8))
        XCTAssertEqual(String(decoding: lines, as: UTF8.self),
                       "ETag: \"x\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Encoding: br\r\n"
                       + "Vary: Accept-Encoding\r\nX-Cache: HIT\r\n")
        XCTAssertEqual(NotModifiedHead.lines(from: []), [])
    }
}

/// A source answering every path with one mapped file and a canned head, marked HIT.
/// Unchecked: the test calls it from one thread only.
private final class CannedSource: FileSource, @unchecked Sendable {
    let file: MappedFile
    let identity: FileIdentity
    let head = Array("Content-Type: text/plain\r\nETag: \"e\"\r\nAccept-Ranges: bytes\r\nX-Canned: 1\r\nX-Cache: HIT\r\n".utf8)
    var served: [Int] = []
    var requests: [FileRequest] = []
    var fail = false

    init(root: String) throws {
        let f = try OpenFile(path: root + "/a.txt")
        identity = try f.identity()
        file = try MappedFile(fd: f.fd, count: identity.size)
    }

    var marksResponses = true

    func open(_ request: FileRequest) -> FileLookup {
        requests.append(request)
        if fail { return FileLookup(.failure(status: 404), mark: .miss) }
        return FileLookup(.file(SourcedFile(identity: identity, contentType: "text/plain", etag: "\"e\"", body: .mapped(file), head: head)),
                          mark: .hit)
    }

    func servedHit(bytes: Int, workerID: Int) { served.append(bytes) }
}
