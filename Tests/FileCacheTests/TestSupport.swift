import CacheStore
import CachePolicies
import CapuchinServer
import CapuchinSystem
import Foundation
import HTTPCore
import XCTest
@testable import FileCache

/// A temporary directory removed when the object goes away.
final class TempDir {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "filecache-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `contents` to `name` (creating directories) and returns the full path.
    @discardableResult
    func write(_ name: String, _ contents: String) -> String {
        let full = path + "/" + name
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        try! Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        return full
    }

    /// Writes a new file beside `name` and renames it over `name`.
    func replaceByRename(_ name: String, _ contents: String) {
        let tmp = write(name + ".new", contents)
        precondition(rename(tmp, path + "/" + name) == 0)
    }

    /// Sets the modification time of `name` to `seconds` since the epoch.
    func setMtime(_ name: String, seconds: Int) {
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        try! FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path + "/" + name)
    }
}

/// What the cache's source offers for admission after the direct opener opened a file.
func makeCandidate(_ path: String, contentType: String = "text/plain") throws -> CandidateFile {
    let file = try OpenFile(path: path)
    let id = try file.identity()
    return CandidateFile(path: path, file: file, identity: id, contentType: contentType,
                         etag: StaticFilePlugin.etag(id))
}

/// The bytes a response body sends, read the way the writer would.
func bytes(of body: ResponseBody) -> String {
    switch body {
    case .empty: return ""
    case .bytes(let b): return String(decoding: b, as: UTF8.self)
    case .mapped(let m, let off, let n):
        guard let base = m.base else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base + off, count: n), as: UTF8.self)
    case .file(let f, let off, let n):
        var buf = [UInt8](repeating: 0, count: n)
        let got = buf.withUnsafeMutableBytes { pread(f.fd, $0.baseAddress, n, off) }
        return String(decoding: buf.prefix(max(0, got)), as: UTF8.self)
    case .parts(let parts): return parts.map(bytes(of:)).joined()
    }
}

/// How many read-family syscalls (read, pread, readv) this thread made in
/// `work`, from the kernel's own count (`syscr` in /proc/thread-self/io).
func readSyscalls(_ work: () throws -> Void) throws -> Int {
    func sample() throws -> Int {
        let fd = open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(call: "open /proc/thread-self/io", errno: errno) }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 1024) }
        let text = String(decoding: buf.prefix(max(0, n)), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("syscr:") }),
              let count = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) else {
            throw SystemError(call: "parse /proc/thread-self/io", errno: EINVAL)
        }
        return count
    }
    let first = try sample()
    let probe = try sample() - first  // what one sample itself counts
    let before = try sample()
    try work()
    return try sample() - before - probe
}

/// How many mappings of the file at `path` this process holds (/proc/self/maps).
func mappings(of path: String) -> Int {
    // Read to EOF: procfs files report size 0.
    let maps = String(decoding: FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
    return maps.split(separator: "\n").filter { $0.hasSuffix(" " + path) }.count
}

/// The bytes a mapped entry would send (tests only: the cache itself never reads a mapping).
func body(of entry: CacheEntry) -> String {
    guard let m = entry.mapping, let base = m.base else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: base, count: m.count), as: UTF8.self)
}

/// An in-memory store with the CacheStore's semantics for the operations the cache sends.
final class MemoryPersistence: CachePersistence, @unchecked Sendable { // safe: state written only under `lock` (tests read `flushes` once the work is done)
    private let lock = Lock()
    private var records: [String: EntryRecord] = [:]
    private var blobs: [String: [UInt8]] = [:]
    private var counters: [String: UInt64] = [:]
    private(set) var flushes = 0

    func enqueue(_ op: StoreOperation) {
        lock.lock(); defer { lock.unlock() }
        switch op {
        case .put(let r): records[r.key] = r
        case .remove(let key): records[key] = nil
        case .removePrefix(let p): records = records.filter { !$0.key.hasPrefix(p) }
        case .removeAll: records = [:]
        case .touch(let key, let hits, let last, let word, let seq):
            guard var r = records[key] else { return }
            r.accessCount += hits
            r.lastAccessNanos = last
            r.policyState = word
            r.policySequence = seq
            records[key] = r
        case .softPurge(let key, let at): records[key]?.softPurgedAtNanos = at
        case .addCounter(let name, let delta): counters[name, default: 0] += delta
        case .setMeta(let name, let value): blobs[name] = value
        }
    }

    func flush() throws { lock.lock(); flushes += 1; lock.unlock() }

    func entries(prefix: String?) throws -> [EntryRecord] {
        lock.lock(); defer { lock.unlock() }
        return records.values.filter { prefix == nil || $0.key.hasPrefix(prefix!) }.sorted { $0.key < $1.key }
    }

    func loadBlob(_ name: String) throws -> [UInt8]? { lock.lock(); defer { lock.unlock() }; return blobs[name] }
    func saveBlob(_ name: String, _ bytes: [UInt8]) { lock.lock(); blobs[name] = bytes; lock.unlock() }
    func counter(_ name: String) throws -> UInt64 { lock.lock(); defer { lock.unlock() }; return counters[name] ?? 0 }
}

/// A small config for tests: one shard unless asked, 1 MiB, 100 entries.
func testConfig(_ edit: (inout FileCacheConfig) -> Void = { _ in }) -> FileCacheConfig {
    var c = FileCacheConfig()
    c.capacityBytes = 1 << 20
    c.capacityEntries = 100
    c.warmEagerEntries = 0
    edit(&c)
    return c
}

func makeCache(_ config: FileCacheConfig, persistence: CachePersistence? = nil, shards: Int = 1) -> FileCache {
    FileCache(config: config, persistence: persistence, shardCount: shards, workers: 8,
              policyFactory: { makePolicy(.lru, capacity: $0) })
}

/// The real LMDB store in `dir` as the file cache's persistence (10 ms commits).
func openTestStore(_ dir: String) throws -> StorePersistence {
    var c = FileCacheConfig()
    c.commitIntervalMs = 10
    return try XCTUnwrap(StorePersistence.open(directory: dir, config: c, log: ErrorLog()) as? StorePersistence)
}
