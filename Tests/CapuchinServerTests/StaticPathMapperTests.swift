import CapuchinSystem
import Glibc
import XCTest
@testable import CapuchinServer

final class StaticPathMapperTests: XCTestCase {
    private var base = ""
    private var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/capuchin-map-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw SystemError(call: "mkdtemp", errno: errno) }
        base = String(cString: p)
        root = base + "/root"
        for d in [root, root + "/dir", root + "/empty", base + "/outside"] { mkdir(d, 0o755) }
        try write(root + "/file.txt", "file")
        try write(root + "/dir/index.htm", "dir index")
        try write(base + "/outside/secret", "secret")
        symlink(base + "/outside/secret", root + "/abs-link")
        symlink("../outside/secret", root + "/rel-link")
        symlink("file.txt", root + "/ok-link")
    }

    override func tearDown() {
        _ = system("rm -rf '\(base)'")
    }

    private func write(_ path: String, _ text: String) throws {
        guard let f = fopen(path, "w") else { throw SystemError(call: "fopen", errno: errno) }
        fputs(text, f)
        fclose(f)
    }

    private func map(_ path: String, allowSymlinks: Bool = false) throws -> StaticPathMapper.Outcome {
        let handle = try DirectoryHandle(path: root)
        let site = Site(names: [], root: root, indexFiles: ["index.html", "index.htm"], allowSymlinksOutsideRoot: allowSymlinks, rootHandle: handle)
        return StaticPathMapper.resolve(path, site: site, root: handle)
    }

    private func status(_ o: StaticPathMapper.Outcome) -> Int {
        switch o {
        case .file: return 200
        case .redirect: return 301
        case .failure(let s): return s
        }
    }

    private func content(_ o: StaticPathMapper.Outcome) -> String? {
        guard case .file(let f, let id, _) = o else { return nil }
        var buf = [UInt8](repeating: 0, count: id.size)
        let n = buf.withUnsafeMutableBytes { pread(f.fd, $0.baseAddress, id.size, 0) }
        return String(decoding: buf.prefix(max(n, 0)), as: UTF8.self)
    }

    func testRegularFile() throws {
        let o = try map("/file.txt")
        XCTAssertEqual(content(o), "file")
        if case .file(_, _, let rel) = o { XCTAssertEqual(rel, "file.txt") }
    }

    func testDirectoryIndexUsesConfiguredList() throws {
        let o = try map("/dir/")
        XCTAssertEqual(content(o), "dir index")
        if case .file(_, _, let rel) = o { XCTAssertEqual(rel, "dir/index.htm") }
    }

    func testDirectoryWithoutSlashRedirects() throws {
        XCTAssertEqual(status(try map("/dir")), 301)
    }

    func testDirectoryWithoutIndexIsForbidden() throws {
        XCTAssertEqual(status(try map("/empty/")), 403)
    }

    func testMissingIs404() throws {
        XCTAssertEqual(status(try map("/nope")), 404)
        XCTAssertEqual(status(try map("/file.txt/")), 404)
    }

    func testSymlinksLeavingTheRootAreRefused() throws {
        XCTAssertEqual(status(try map("/abs-link")), 404)
        XCTAssertEqual(status(try map("/rel-link")), 404)
        XCTAssertEqual(content(try map("/ok-link")), "file")
    }

    func testSymlinksAllowedWhenTheSiteSaysSo() throws {
        XCTAssertEqual(content(try map("/abs-link", allowSymlinks: true)), "secret")
    }

    func testNulAndRelativePathsAreBadRequests() throws {
        XCTAssertEqual(status(try map("/file.txt\u{0}.html")), 400)
        XCTAssertEqual(status(try map("file.txt")), 400)
    }

    func testKernelRefusesDotDotEvenIfItGetsThrough() throws {
        XCTAssertNotEqual(status(try map("/../outside/secret")), 200)
    }
}
