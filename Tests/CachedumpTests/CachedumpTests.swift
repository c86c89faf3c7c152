import CacheStore
import Foundation
import TestSupport
import XCTest

/// Runs the real `cachedump` binary against a store this test makes.
final class CachedumpTests: XCTestCase {
    var dir = "", files = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "capuchin-dump-\(UUID().uuidString)"
        files = dir + "-files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        let store = try CacheStore(directory: dir)
        for (i, name) in ["a.html", "b.css", "c.js"].enumerated() {
            let path = "\(files)/\(name)"
            try Data(repeating: UInt8(65 + i), count: 100 * (i + 1)).write(to: URL(fileURLWithPath: path))
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            var st = stat()
            stat(path, &st)
            store.enqueue(.put(EntryRecord(key: "site/\(name)", originPath: path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
                                           size: Int64((attrs[.size] as? Int) ?? 0),
                                           mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                                           contentType: "text/plain", etag: "\"e\(i)\"", insertedAtNanos: Int64(i + 1) * 1_000_000_000,
                                           lastAccessNanos: Int64(10 - i) * 1_000_000_000, accessCount: UInt64([5, 50, 1][i]))))
        }
        store.enqueue(.put(EntryRecord(key: "other/x", originPath: "\(files)/a.html", size: 1)))
        store.close()
    }

    private func dump(_ args: String...) throws -> (Int32, String, String) { try runProduct("cachedump", args) }

    private func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func testStatTextAndJSON() throws {
        let (st, text, _) = try dump("stat", dir)
        XCTAssertEqual(st, 0)
        XCTAssertTrue(text.contains("entries:        4"), text)
        XCTAssertTrue(text.contains("schema version: 2"), text)
        let (_, j, _) = try dump("stat", dir, "--json")
        let o = try XCTUnwrap(try json(j) as? [String: Any])
        XCTAssertEqual(o["entries"] as? Int, 4)
        XCTAssertEqual(o["bytes"] as? Int, 100 + 200 + 300 + 1)
        XCTAssertGreaterThan(o["map_size"] as? Int ?? 0, 0)
        XCTAssertGreaterThan(o["last_commit_ns"] as? Int ?? 0, 0)
    }

    func testListSortPrefixLimitAndTop() throws {
        let (_, j, _) = try dump("list", dir, "--prefix", "site/", "--sort", "hits", "--json")
        let rows = try XCTUnwrap(try json(j) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["key"] as? String }, ["site/b.css", "site/a.html", "site/c.js"])
        let (_, j2, _) = try dump("list", dir, "--sort", "size", "--limit", "1", "--json")
        XCTAssertEqual((try json(j2) as? [[String: Any]])?.first?["key"] as? String, "site/c.js")
        let (_, text, _) = try dump("top", "1", dir)
        XCTAssertTrue(text.contains("site/b.css") && !text.contains("site/a.html"), text)
        XCTAssertTrue(text.hasPrefix("HITS"), text)
    }

    func testGetAndExport() throws {
        let (st, j, _) = try dump("get", dir, "site/a.html", "--json")
        XCTAssertEqual(st, 0)
        let o = try XCTUnwrap(try json(j) as? [String: Any])
        XCTAssertEqual(o["hits"] as? Int, 5)
        XCTAssertEqual(o["etag"] as? String, "\"e0\"")
        let (missing, _, err) = try dump("get", dir, "nope")
        XCTAssertEqual(missing, 2)
        XCTAssertTrue(err.contains("no entry"), err)
        let (_, nd, _) = try dump("export", dir)
        let lines = nd.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        for l in lines { XCTAssertNotNil(try json(String(l)) as? [String: Any]) }
    }

    func testVerifyExitCodes() throws {
        // other/x records size 1 for a 100-byte file: stale from the start.
        var (st, out, _) = try dump("verify", dir)
        XCTAssertEqual(st, 1, out)
        XCTAssertTrue(out.contains("STALE other/x"), out)
        _ = try dump("purge", dir, "other/x", "--write")
        (st, out, _) = try dump("verify", dir)
        XCTAssertEqual(st, 0, out)
        try FileManager.default.removeItem(atPath: "\(files)/b.css")
        let (st2, j, _) = try dump("verify", dir, "--json")
        XCTAssertEqual(st2, 1)
        let o = try XCTUnwrap(try json(j) as? [String: Any])
        XCTAssertEqual((o["stale"] as? [[String: String]])?.first?["problem"], "missing")
        XCTAssertEqual(o["totals_kept"] as? Bool, true)
        XCTAssertEqual(o["totals_match"] as? Bool, true, "the kept entry totals agree with the records")
        let (st3, _, err) = try dump("verify", dir + "-absent")
        XCTAssertEqual(st3, 2)
        XCTAssertTrue(err.contains(dir + "-absent"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "-absent"), "read-only commands never create")
    }

    func testPurgeNeedsWriteAndDryRunRemovesNothing() throws {
        let (st, _, err) = try dump("purge", dir, "--prefix", "site/")
        XCTAssertEqual(st, 2)
        XCTAssertTrue(err.contains("--write"), err)
        let (_, dry, _) = try dump("purge", dir, "--prefix", "site/", "--dry-run")
        XCTAssertTrue(dry.contains("3 entries would be removed"), dry)
        XCTAssertEqual(try CacheStore(directory: dir, options: { var o = StoreOptions(); o.readOnly = true; return o }()).stats().entries, 4)
        let (ok, j, _) = try dump("purge", dir, "--prefix", "site/", "--write", "--json")
        XCTAssertEqual(ok, 0)
        XCTAssertEqual((try json(j) as? [String: Any])?["removed"] as? Int, 3)
        let (_, left, _) = try dump("list", dir, "--json")
        XCTAssertEqual((try json(left) as? [[String: Any]])?.map { $0["key"] as? String }, ["other/x"])
    }

    func testPurgeByTagAndSoftPurge() throws {
        do {
            let store = try CacheStore(directory: dir)
            for (i, tags) in [["red", "blue"], ["red"], ["blue"], []].enumerated() {
                store.enqueue(.put(EntryRecord(key: "t/\(i)", originPath: "\(files)/a.html", size: 1, tags: tags)))
            }
            store.close()
        }
        func read() throws -> CacheStore {
            var o = StoreOptions()
            o.readOnly = true
            return try CacheStore(directory: dir, options: o)
        }
        let (_, dry, _) = try dump("purge", dir, "--tag", "red", "--dry-run")
        XCTAssertTrue(dry.contains("2 entries would be removed") && dry.contains("t/0") && dry.contains("t/1"), dry)
        XCTAssertEqual(try read().stats().entries, 8)
        // Soft: kept, marked, still tagged.
        let (softStatus, soft, _) = try dump("purge", dir, "--tag", "blue", "--soft", "--write", "--json")
        XCTAssertEqual(softStatus, 0)
        XCTAssertEqual((try json(soft) as? [String: Any])?["soft_purged"] as? Int, 2)
        var r = try read()
        XCTAssertNotEqual(try r.get("t/0")?.softPurgedAtNanos, 0)
        XCTAssertNotEqual(try r.get("t/2")?.softPurgedAtNanos, 0)
        XCTAssertEqual(try r.get("t/1")?.softPurgedAtNanos, 0)
        XCTAssertEqual(try r.keys(taggedWith: ["blue"]).sorted(), ["t/0", "t/2"])
        r.close()
        // Several tags, repeated and comma-separated.
        let (hard, out, _) = try dump("purge", dir, "--tag", "red,nothing", "--tag", "blue", "--write")
        XCTAssertEqual(hard, 0)
        XCTAssertTrue(out.contains("3 entries removed"), out)
        r = try read()
        XCTAssertEqual(try r.entries(prefix: "t/").map(\.key), ["t/3"])
        XCTAssertEqual(try r.keys(taggedWith: ["red", "blue"]), [])
        r.close()
        let (verify, v, _) = try dump("verify", dir, "--json")
        XCTAssertEqual((try json(v) as? [String: Any])?["tags_match"] as? Bool, true, "\(verify) \(v)")
        let (bad, _, err) = try dump("purge", dir, "--tag", "red", "--prefix", "t/", "--write")
        XCTAssertEqual(bad, 64, err)
    }
}
