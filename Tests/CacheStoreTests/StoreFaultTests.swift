import CLMDB
import CapuchinSystem
import Foundation
import TestSupport
import XCTest
@testable import CacheStore

/// The writer's fault paths: I/O errors and MDB_PANIC while committing or
/// syncing, stale reader slots, unwritable directories, map size settings.
final class StoreFaultTests: XCTestCase {
    /// Collects a store's log lines (the writer logs from its own thread).
    final class LogLines: Sendable {
        private let lines = Lock<[String]>([])
        func add(_ s: String) { lines.withLock { $0.append(s) } }
        var all: [String] { lines.withLock { $0 } }
        func contains(_ s: String) -> Bool { all.contains { $0.contains(s) } }
    }

    /// Fails the given step with `code` for the next `times` calls.
    final class Faults: Sendable {
        private let left = Lock<[CacheStore.FaultPoint: (code: Int32, times: Int)]>([:])
        func fail(_ p: CacheStore.FaultPoint, _ code: Int32, times: Int = 1) { left.withLock { $0[p] = (code, times) } }
        func code(_ p: CacheStore.FaultPoint) -> Int32 {
            left.withLock { m in
                guard let f = m[p], f.times > 0 else { return 0 }
                m[p] = (f.code, f.times - 1)
                return f.code
            }
        }
    }

    private func open(_ dir: String, _ log: LogLines, _ faults: Faults, options: StoreOptions = fastOptions()) throws -> CacheStore {
        let store = try CacheStore(directory: dir, options: options, log: log.add)
        store.injectFault = faults.code
        return store
    }

    func testCommitIOErrorReopensAndRetriesTheBatch() throws {
        let log = LogLines(), faults = Faults()
        let store = try open(makeTempDir(), log, faults)
        faults.fail(.commit, EIO)
        store.enqueue(.put(record("a")))
        try store.flush()
        XCTAssertEqual(try store.get("a")?.key, "a", "the retried batch committed")
        XCTAssertTrue(log.contains("durability unknown: reopening the environment"), "\(log.all)")
        store.close()
    }

    func testPanicReopensTheEnvironment() throws {
        let log = LogLines(), faults = Faults()
        let store = try open(makeTempDir(), log, faults)
        faults.fail(.commit, MDB_PANIC)
        store.enqueue(.put(record("p")))
        try store.flush()
        XCTAssertNotNil(try store.get("p"))
        XCTAssertTrue(log.contains("MDB_PANIC") || log.contains("\(MDB_PANIC)"), "\(log.all)")
        store.close()
    }

    func testPersistentWriteErrorDropsTheBatchKeepsCommittedAndRecovers() throws {
        let log = LogLines(), faults = Faults()
        let dir = makeTempDir()
        let store = try open(dir, log, faults)
        store.enqueue(.put(record("old")))
        try store.flush()
        faults.fail(.commit, ENOSPC, times: 2) // the batch and its retry after reopening
        store.enqueue(.put(record("lost")))
        XCTAssertThrowsError(try store.flush()) { XCTAssertEqual(($0 as? StoreError)?.lmdbCode, ENOSPC) }
        XCTAssertTrue(log.contains("dropped 1 operation(s) in 1 batch(es)"), "\(log.all)")
        store.enqueue(.put(record("new")))
        try store.flush()
        XCTAssertTrue(log.contains("commits succeed again after 1 failed batch(es)"), "\(log.all)")
        XCTAssertEqual(try store.entries().map(\.key), ["new", "old"])
        store.close()
        let again = try CacheStore(directory: dir, options: fastOptions())
        XCTAssertEqual(try again.entries().map(\.key), ["new", "old"], "what was committed survives the faults")
        again.close()
    }

    func testSyncErrorReopensAndTheNextSyncRetries() throws {
        let log = LogLines(), faults = Faults()
        let dir = makeTempDir()
        var o = fastOptions()
        o.durability = .batched
        let store = try open(dir, log, faults, options: o)
        faults.fail(.sync, EIO)
        store.enqueue(.put(record("s")))
        try store.flush()
        store.close() // close forces the sync, which fails once
        XCTAssertTrue(log.contains("sync failed") && log.contains("durability unknown"), "\(log.all)")
        let again = try CacheStore(directory: dir, options: o)
        XCTAssertNotNil(try again.get("s"))
        again.close()
    }

    func testStaleReaderSlotOfAKilledProcessIsCleared() throws {
        let dir = makeTempDir()
        let log = LogLines()
        let store = try CacheStore(directory: dir, options: fastOptions(), log: log.add)
        store.enqueue(.put(record("r")))
        try store.flush()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: productPath("store-crash-child"))
        child.arguments = ["--hold-reader", dir]
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        // Bounded: the child prints once it is inside its read transaction (or exits).
        let ready = out.fileHandleForReading.availableData
        XCTAssertEqual(String(decoding: ready, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "reading")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertFalse(log.contains("stale reader"))
        store.readerCheckInterval = .zero
        store.enqueue(.put(record("s")))
        try store.flush() // the writer checks the reader table after this commit
        XCTAssertTrue(log.contains("cleared 1 stale reader slot(s) left by killed processes"), "\(log.all)")
        store.close()
    }

    func testUnwritableErrorsAreRecognised() {
        for code in [EACCES, EROFS, ENOSPC] {
            XCTAssertTrue(CacheStore.isUnwritable(StoreError.lmdb(call: "mdb_env_open", code: code, message: "", path: "/x")))
        }
        XCTAssertFalse(CacheStore.isUnwritable(StoreError.lmdb(call: "mdb_env_open", code: MDB_CORRUPTED, message: "", path: "/x")))
        XCTAssertTrue(CacheStore.needsReopen(.lmdb(call: "c", code: EIO, message: "", path: "/x")))
        XCTAssertTrue(CacheStore.needsReopen(.lmdb(call: "c", code: MDB_PANIC, message: "", path: "/x")))
        XCTAssertFalse(CacheStore.needsReopen(.lmdb(call: "c", code: MDB_MAP_FULL, message: "", path: "/x")))
    }

    /// A read-only bind mount (root only): the store opens without persistence.
    func testReadOnlyDirectoryServesWithoutPersistence() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to make a read-only bind mount") }
        let dir = makeTempDir()
        let seed = try CacheStore(directory: dir, options: fastOptions())
        seed.enqueue(.put(record("before")))
        try seed.flush()
        seed.close()
        guard mountCommand(["--bind", dir, dir]) else { throw XCTSkip("mount --bind is not permitted here") }
        defer { _ = mountCommand(["-l", dir], umount: true) }
        XCTAssertTrue(mountCommand(["-o", "remount,ro,bind", dir]))
        let log = LogLines()
        let store = try CacheStore(directory: dir, options: fastOptions(), log: log.add)
        XCTAssertNotNil(store.notPersistingReason)
        XCTAssertTrue(log.contains("\(dir) cannot be written") && log.contains("WITHOUT persistence"), "\(log.all)")
        store.enqueue(.put(record("dropped")))
        try store.flush()
        XCTAssertEqual(try store.entries(), [])
        XCTAssertEqual(try store.stats().entries, 0)
        store.close()
    }

    private func mountCommand(_ args: [String], umount: Bool = false) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: umount ? "/bin/umount" : "/bin/mount")
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    func testMapSizesParse() {
        XCTAssertEqual(StoreOptions.parseSize("65536"), 65536)
        XCTAssertEqual(StoreOptions.parseSize("64k"), 64 << 10)
        XCTAssertEqual(StoreOptions.parseSize("2M"), 2 << 20)
        XCTAssertEqual(StoreOptions.parseSize("1g"), 1 << 30)
        XCTAssertNil(StoreOptions.parseSize("lots"))
        XCTAssertNil(StoreOptions.parseSize("-5"))
    }
}
