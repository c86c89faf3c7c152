import CLMDB
import Foundation
import Synchronization

/// The persistent cache index in LMDB. Any thread may `enqueue` changes (cheap,
/// never waits for disk); one writer thread commits them in batches every
/// `commitIntervalMillis` or `maxBatch` operations, each batch one transaction.
/// Reads use short read transactions and never wait for the writer.
///
/// Faults: MDB_MAP_FULL grows the map (after freeing stale reader slots) up to
/// `maxMapSize`, then drops the batch's insertions and calls `onFull`. An I/O
/// error while committing or syncing (EIO, ENOSPC, ...) or MDB_PANIC means
/// durability is unknown: the environment is reopened and the batch retried
/// once, then dropped (logged; what was committed before stays). A directory
/// that cannot be written at open (read-only, no permission, no space) leaves
/// the store not persisting (`notPersistingReason`, logged): every operation
/// is dropped and reads are empty, so the server serves without persistence.
public final class CacheStore: @unchecked Sendable {
    public static let schemaVersion: UInt32 = 1

    public let directory: String
    public let options: StoreOptions
    let log: (String) -> Void
    /// For recoveries and losses (damage, dropped batches, lost durability).
    let warn: (String) -> Void
    /// Called from the writer when the map cannot grow further: the cache must evict.
    public var onFull: (() -> Void)?

    private(set) var env: LMDBEnvironment
    /// Readers hold it shared; growing or reopening the map holds it exclusively.
    var envLock = pthread_rwlock_t()
    /// Records the cursors of reads visited (tests check that prefix reads seek).
    let recordsVisited = Atomic<Int>(0)
    private let queue = NSCondition()
    /// Operations queued by any thread: appended under a short lock, never
    /// coalesced here (the writer does that off the request path).
    private let inbox = Mutex<(ops: [StoreOperation], count: UInt64)>(([], 0))
    private var committed: UInt64 = 0
    private var flushWanted = false
    /// Set by the writer once its work at open (`keepTotalsFromOpen`) is done.
    private var writerReady = false
    private var stopping = false
    private var lastError: Error?
    private var writer: Thread?
    private var lastSync = ContinuousClock.now
    private var lastReaderCheck = ContinuousClock.now
    /// How often the writer frees reader slots of killed processes (tests shorten it).
    var readerCheckInterval: Duration = .seconds(5)
    /// Commits since the last successful sync (batched durability).
    private var unsyncedCommits = 0
    /// Batches dropped since commits last succeeded (0: healthy), and when that was last logged.
    private var failedBatches = 0
    private var droppedOperations = 0
    private var lastFailureLog = ContinuousClock.now

    /// Why the store is not persisting (its directory could not be written at
    /// open), nil while it is. Operations are then dropped and reads are empty.
    public private(set) var notPersistingReason: String?

    /// Where a test makes the writer fail (`injectFault`).
    enum FaultPoint { case commit, sync }
    /// Tests only: an errno or LMDB code the given step fails with instead of
    /// running (0: run it). Set before queuing operations; read by the writer.
    var injectFault: ((FaultPoint) -> Int32)?

    struct PendingTouch { var hits: UInt64; var last: Int64; var state: UInt64; var seq: UInt64 }

    /// Opens or creates the store in `directory` (created unless read-only).
    /// A damaged data file is moved aside (logged) and a fresh store made.
    /// Throws `StoreError.schemaMismatch` for another schema version,
    /// `.missingDirectory` read-only without the directory, `.lmdb` otherwise.
    /// `warn` gets recoveries and losses (default: `log`), `log` the rest.
    public init(directory: String, options: StoreOptions = StoreOptions(), log: @escaping (String) -> Void = { _ in },
                warn: ((String) -> Void)? = nil) throws {
        self.directory = directory
        self.options = options
        self.log = log
        self.warn = warn ?? log
        pthread_rwlock_init(&envLock, nil)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), !isDir.boolValue {
            throw StoreError.lmdb(call: "open", code: ENOTDIR, message: "not a directory", path: directory)
        }
        if options.readOnly && !isDir.boolValue { throw StoreError.missingDirectory(path: directory) }
        do {
            if !isDir.boolValue { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            env = try Self.openRecovering(directory: directory, options: options, warn: self.warn)
            try checkSchema()
        } catch where !options.readOnly && Self.isUnwritable(error) {
            env = LMDBEnvironment(unavailable: directory)
            notPersistingReason = "\(error)"
            self.warn("cache store \(directory) cannot be written (\(error)); serving WITHOUT persistence: nothing is stored or loaded until the directory is writable and the server restarts")
            return
        }
        if env.staleReadersCleared > 0 {
            log("cache store \(directory): cleared \(env.staleReadersCleared) stale reader slot(s) left by killed processes")
        }
        if !options.readOnly {
            let t = Thread { [unowned self] in self.writerLoop() }
            t.name = "cache-store-writer"
            writer = t
            t.start()
        }
    }

    deinit {
        close()
        pthread_rwlock_destroy(&envLock)
    }

    /// Whether `error` says the directory cannot be written (read-only
    /// filesystem, no permission, no space): the store then runs without persistence.
    static func isUnwritable(_ error: Error) -> Bool {
        let codes: Set<Int32> = [EACCES, EPERM, EROFS, ENOSPC, EDQUOT]
        if let e = error as? StoreError, let code = e.lmdbCode { return codes.contains(code) }
        if let e = error as? CocoaError {
            if [.fileWriteNoPermission, .fileWriteVolumeReadOnly, .fileWriteOutOfSpace].contains(e.code) { return true }
            if let u = e.underlying as? POSIXError { return codes.contains(u.code.rawValue) }
        }
        if let e = error as? POSIXError { return codes.contains(e.code.rawValue) }
        return false
    }

    private static func openRecovering(directory: String, options: StoreOptions, warn: (String) -> Void) throws -> LMDBEnvironment {
        do {
            return try LMDBEnvironment(path: directory, mapSize: options.mapSize, durability: options.durability, readOnly: options.readOnly)
        } catch let e as StoreError where !options.readOnly && (e.isDamage || e.lmdbCode == MDB_PANIC) {
            let aside = try moveAside(directory)
            warn("cache store \(directory) is damaged (\(e)); moved it to \(aside) and started an empty store")
            return try LMDBEnvironment(path: directory, mapSize: options.mapSize, durability: options.durability, readOnly: false)
        }
    }

    /// Moves aside a store whose pages turned out damaged while reading (see
    /// `StoreError.isDamage`), logging where, and goes on with an empty one.
    /// Throws when the move or opening the new environment fails.
    public func replaceDamaged(because error: Error) throws {
        pthread_rwlock_wrlock(&envLock)
        defer { pthread_rwlock_unlock(&envLock) }
        env.close()
        let aside = try Self.moveAside(directory)
        warn("cache store \(directory) is damaged (\(error)); moved it to \(aside) and started an empty store")
        env = try LMDBEnvironment(path: directory, mapSize: options.mapSize, durability: options.durability, readOnly: options.readOnly)
        try checkSchema()
    }

    /// Moves the store's files to `DIR.old-<unix time>` and returns that path.
    /// Throws when the rename fails.
    @discardableResult
    public static func moveAside(_ directory: String) throws -> String {
        let aside = "\(directory).old-\(Int(Date().timeIntervalSince1970))-\(getpid())"
        try FileManager.default.moveItem(atPath: directory, toPath: aside)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return aside
    }

    private func checkSchema() throws {
        guard env.hasDatabases else { return }
        let found: UInt32? = try env.read { txn in
            try txn.get(env.meta, Array("schema_version".utf8)).map { Self.decodeU64($0).map(UInt32.init) ?? 0 }
        }
        if let found {
            if found != Self.schemaVersion {
                throw StoreError.schemaMismatch(found: found, expected: Self.schemaVersion, path: directory)
            }
        } else if !options.readOnly {
            let now = Self.wallNanos()
            try env.write { txn in
                try txn.put(env.meta, Array("schema_version".utf8), Self.encodeU64(UInt64(Self.schemaVersion)))
                try txn.put(env.meta, Array("created_at".utf8), Self.encodeU64(UInt64(now)))
                // A store with no records yet, or one written before a schema
                // version was recorded (recounted by the writer then).
                if try txn.count(env.entries) == 0 { try StoreTotals().keep(txn, meta: env.meta, stamp: 0) }
            }
        }
    }

    // MARK: writing

    /// Queues an operation. Never blocks on disk; callable from any thread.
    public func enqueue(_ op: StoreOperation) {
        guard notPersistingReason == nil else { return }
        let n = inbox.withLock { box -> Int in
            box.ops.append(op)
            box.count &+= 1
            return box.ops.count
        }
        if n == options.maxBatch { queue.signal() }
    }

    /// Queues several operations that will commit in the same transaction
    /// (a crash never leaves some of them applied and not the others).
    public func enqueue(contentsOf ops: [StoreOperation]) {
        guard notPersistingReason == nil else { return }
        let n = inbox.withLock { box -> Int in
            box.ops.append(contentsOf: ops)
            box.count &+= UInt64(ops.count)
            return box.ops.count
        }
        if n >= options.maxBatch { queue.signal() }
    }

    /// Commits everything queued so far (and the writer's work at open) and waits for it. Throws the error of a
    /// failed commit (the store stays usable).
    public func flush() throws {
        guard writer != nil else { return }
        queue.lock()
        defer { queue.unlock() }
        let target = inbox.withLock { $0.count }
        flushWanted = true
        queue.broadcast()
        while (committed < target || !writerReady) && !(stopping && writer == nil) {
            queue.wait()
        }
        if let e = lastError {
            lastError = nil
            throw e
        }
    }

    /// Flushes, stops the writer and closes the environment. Safe to call twice.
    public func close() {
        queue.lock()
        let running = writer != nil && !stopping
        stopping = true
        queue.broadcast()
        while writer != nil && running { queue.wait() }
        queue.unlock()
        pthread_rwlock_wrlock(&envLock)
        env.close()
        pthread_rwlock_unlock(&envLock)
    }

    private func writerLoop() {
        keepTotalsFromOpen()
        let interval = Double(options.commitIntervalMillis) / 1000
        queue.lock()
        writerReady = true
        queue.broadcast()
        while true {
            let deadline = Date().addingTimeInterval(interval)
            while !stopping && !flushWanted && inbox.withLock({ $0.ops.count }) < options.maxBatch {
                if !queue.wait(until: deadline) { break }
            }
            let (taken, upTo) = inbox.withLock { box -> ([StoreOperation], UInt64) in
                defer { box.ops.removeAll(keepingCapacity: true) }
                return (box.ops, box.count)
            }
            let (ops, tch) = Self.coalesce(taken)
            flushWanted = false
            let done = stopping
            queue.unlock()
            var error: Error?
            if !ops.isEmpty || !tch.isEmpty { error = commit(ops, tch) }
            syncIfDue(force: done)
            checkReadersIfDue()
            queue.lock()
            committed = upTo
            if let error { lastError = error }
            queue.broadcast()
            if done && inbox.withLock({ $0.ops.isEmpty }) { break }
        }
        writer = nil
        queue.broadcast()
        queue.unlock()
    }

    /// Splits a batch into ordered operations and per-key touches (summed).
    static func coalesce(_ taken: [StoreOperation]) -> ([StoreOperation], [String: PendingTouch]) {
        var ops: [StoreOperation] = []
        var touches: [String: PendingTouch] = [:]
        for op in taken {
            if case let .touch(key, hits, last, state, seq) = op {
                touches[key, default: PendingTouch(hits: 0, last: last, state: state, seq: seq)].hits &+= hits
                touches[key]!.last = max(touches[key]!.last, last)
                touches[key]!.state = state
                touches[key]!.seq = seq
            } else {
                ops.append(op)
            }
        }
        return (ops, touches)
    }

    private func syncIfDue(force: Bool) {
        guard options.durability == .batched, unsyncedCommits > 0,
              force || ContinuousClock.now - lastSync > .seconds(1) else { return }
        lastSync = .now
        do {
            try fault(.sync, call: "mdb_env_sync")
            try env.sync()
            unsyncedCommits = 0
        } catch {
            // Durability unknown: reopen rather than carry on as if it were safe;
            // the next sync (unsyncedCommits stays > 0) tries again.
            warn("cache store \(directory): sync failed: \(error); the commits of the last second may not be on disk (durability unknown): reopening the environment")
            reopen()
        }
    }

    /// Frees reader slots of killed processes (cachedump, a crashed server
    /// sharing the directory) every 5 s: they pin pages and make the file grow.
    private func checkReadersIfDue() {
        guard ContinuousClock.now - lastReaderCheck >= readerCheckInterval else { return }
        lastReaderCheck = .now
        pthread_rwlock_rdlock(&envLock)
        let n = env.readerCheck()
        pthread_rwlock_unlock(&envLock)
        if n > 0 { log("cache store \(directory): cleared \(n) stale reader slot(s) left by killed processes") }
    }

    /// Throws the error `injectFault` asks for at `point`.
    func fault(_ point: FaultPoint, call: String) throws {
        if let code = injectFault?(point), code != 0 {
            throw StoreError.lmdb(call: call, code: code, message: String(cString: mdb_strerror(code)), path: directory)
        }
    }

    /// Applies one batch; grows the map on MDB_MAP_FULL, reopens on MDB_PANIC
    /// or an I/O error and retries once, then drops the batch (logged).
    private func commit(_ ops: [StoreOperation], _ touches: [String: PendingTouch]) -> Error? {
        var ops = ops
        var reopened = false
        for _ in 0..<8 {
            do {
                if env.env == nil { reopen() } // an earlier reopen failed
                try apply(ops, touches)
                commitSucceeded()
                return nil
            } catch let e as StoreError where e.lmdbCode == MDB_MAP_FULL {
                pthread_rwlock_wrlock(&envLock)
                defer { pthread_rwlock_unlock(&envLock) }
                let freed = env.readerCheck()
                if freed > 0 {
                    log("cache store \(directory): map full; cleared \(freed) stale reader slot(s) pinning old pages, retrying")
                    continue
                }
                do {
                    try env.grow(limit: options.maxMapSize)
                    log("cache store \(directory): map grown to \(env.mapSize) bytes")
                } catch {
                    warn("cache store \(directory): \(error); dropping this batch's insertions")
                    onFull?()
                    ops.removeAll { if case .put = $0 { return true } else { return false } }
                }
            } catch let e as StoreError where !reopened && Self.needsReopen(e) {
                reopened = true
                if failedBatches == 0 {
                    warn("cache store \(directory): commit failed: \(e); durability unknown: reopening the environment and retrying the batch")
                }
                reopen()
            } catch {
                commitFailed(error, operations: ops.count + touches.count)
                return error
            }
        }
        let e = StoreError.full(path: directory, mapSize: env.mapSize)
        commitFailed(e, operations: ops.count + touches.count)
        return e
    }

    /// MDB_PANIC (the environment is unusable) or an errno from writing or
    /// syncing (LMDB's own codes are negative): reopen before going on.
    static func needsReopen(_ e: StoreError) -> Bool {
        guard let code = e.lmdbCode else { return false }
        return code == MDB_PANIC || code > 0
    }

    private func commitFailed(_ error: Error, operations: Int) {
        failedBatches += 1
        droppedOperations += operations
        if failedBatches == 1 || ContinuousClock.now - lastFailureLog > .seconds(30) {
            lastFailureLog = .now
            warn("cache store \(directory): commit failed again after reopening: \(error); dropped \(droppedOperations) operation(s) in \(failedBatches) batch(es) so far; earlier commits are kept, serving goes on")
        }
    }

    private func commitSucceeded() {
        unsyncedCommits += 1
        if failedBatches > 0 {
            warn("cache store \(directory): commits succeed again after \(failedBatches) failed batch(es) (\(droppedOperations) operation(s) dropped)")
            failedBatches = 0
            droppedOperations = 0
        }
    }

    private func reopen() {
        pthread_rwlock_wrlock(&envLock)
        defer { pthread_rwlock_unlock(&envLock) }
        let size = max(options.mapSize, env.mapSize)
        env.close()
        do {
            env = try LMDBEnvironment(path: directory, mapSize: size, durability: options.durability, readOnly: false)
        } catch {
            if failedBatches == 0 { warn("cache store \(directory): reopen failed: \(error); trying again with the next batch") }
        }
    }

    // MARK: helpers

    static func encodeU64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    static func decodeU64(_ b: UnsafeRawBufferPointer) -> UInt64? {
        guard b.count == 8 else { return nil }
        return (0..<8).reduce(0) { $0 | UInt64(b[$1]) << (8 * $1) }
    }

    static func wallNanos() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }
}
