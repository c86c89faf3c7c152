import CLMDB
import CapuchinSystem

/// One open LMDB environment with the store's named databases. Transactions
/// are closures: a write commits when the closure returns and aborts when it
/// throws (as GRDB does). Not for direct use outside CacheStore.
final class LMDBEnvironment {
    let path: String
    let readOnly: Bool
    private(set) var env: OpaquePointer?
    private(set) var entries: MDB_dbi = 0
    private(set) var meta: MDB_dbi = 0
    /// Tag -> LMDB keys of the entries carrying it (DUPSORT); nil in a store
    /// opened read-only that an older build made (it has no tags).
    private(set) var tags: MDB_dbi?
    /// False when a read-only open found no named databases (an empty store).
    private(set) var hasDatabases = true
    private(set) var mapSize: Int
    /// Reader slots of dead processes that opening cleared.
    private(set) var staleReadersCleared = 0

    /// A stand-in for a store that could not be opened: no databases, every
    /// read empty. The store then runs without persistence.
    init(unavailable path: String) {
        self.path = path
        readOnly = true
        mapSize = 0
        hasDatabases = false
    }

    /// Opens (creating unless read-only) the environment in `path`. Throws
    /// `StoreError.lmdb` with LMDB's message (MDB_INVALID for a damaged file, ...).
    init(path: String, mapSize: Int, durability: Durability, readOnly: Bool) throws {
        self.path = path
        self.readOnly = readOnly
        self.mapSize = mapSize
        var e: OpaquePointer?
        try StoreError.check(mdb_env_create(&e), "mdb_env_create", path)
        env = e
        do {
            // Room for more than "entries", "meta" and "tags": stores made before it
            // went also hold an empty, never opened "blobs" database (left in place,
            // so an older cachedump still finds what it expects).
            try StoreError.check(mdb_env_set_maxdbs(e, 8), "mdb_env_set_maxdbs", path)
            try StoreError.check(mdb_env_set_maxreaders(e, 256), "mdb_env_set_maxreaders", path)
            // Before open: 0.9.24's default map is 1 MiB.
            try StoreError.check(mdb_env_set_mapsize(e, mapSize), "mdb_env_set_mapsize", path)
            if !readOnly { try Self.reserveLockFile(path) }
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            if durability == .batched && !readOnly { flags |= UInt32(MDB_NOMETASYNC) }
            try StoreError.check(mdb_env_open(e, path, flags, 0o644), "mdb_env_open", path)
            var info = MDB_envinfo()
            mdb_env_info(e, &info)
            self.mapSize = max(mapSize, info.me_mapsize)
            try checkFileLength(info)
            if !readOnly { staleReadersCleared = readerCheck() }
            try openDatabases()
        } catch {
            mdb_env_close(e)
            env = nil
            throw error
        }
    }

    /// LMDB maps lock.mdb and writes its reader table through the mapping: on a
    /// full filesystem a sparse lock file would end in SIGBUS. Allocating its
    /// blocks first turns that into ENOSPC. Throws `StoreError.lmdb` with the errno.
    private static func reserveLockFile(_ path: String) throws {
        do {
            let fd = try FileDescriptor.open(path + "/lock.mdb", .readWrite, options: .create)
            defer { fd.close() }
            // The header and 256 reader slots of 64 bytes, rounded up.
            do { try fd.allocate(offset: 0, length: 32 << 10) } catch let e as SystemError
                where e.code == .notSupported || e.code == .invalidArgument {}
        } catch let e as SystemError {
            throw StoreError.lmdb(call: e.call.hasPrefix("open") ? "open lock.mdb" : "\(e.call) lock.mdb", code: e.code.rawValue, message: e.code.description, path: path)
        }
    }

    /// A data file much shorter than its last used page would fault when read:
    /// treat it as damaged. A few pages of slack are normal: pages allocated and
    /// freed within one transaction count in `last_pgno` but are never written.
    private func checkFileLength(_ info: MDB_envinfo) throws {
        guard let file = try? statPath(path + "/data.mdb") else { return }
        var es = MDB_stat()
        mdb_env_stat(env, &es)
        let needed = (Int(info.me_last_pgno) + 1) * Int(es.ms_psize)
        if file.size < needed - 16 * Int(es.ms_psize) {
            throw StoreError.lmdb(call: "mdb_env_open", code: MDB_CORRUPTED,
                                  message: "data.mdb is \(file.size) bytes but its last page ends at \(needed) (truncated)", path: path)
        }
    }

    private func openDatabases() throws {
        var txn: OpaquePointer?
        try StoreError.check(mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin", path)
        let create = readOnly ? 0 : UInt32(MDB_CREATE)
        var rc = mdb_dbi_open(txn, "entries", create, &entries)
        if rc == 0 { rc = mdb_dbi_open(txn, "meta", create, &meta) }
        if rc == MDB_NOTFOUND && readOnly {
            hasDatabases = false
            mdb_txn_abort(txn)
            return
        }
        if rc == 0 {
            // Made on the first writable open; an older build's store has no tags to index.
            var t: MDB_dbi = 0
            rc = mdb_dbi_open(txn, "tags", create | UInt32(MDB_DUPSORT), &t)
            if rc == 0 { tags = t } else if rc == MDB_NOTFOUND && readOnly { rc = 0 }
        }
        if rc != 0 { mdb_txn_abort(txn); try StoreError.check(rc, "mdb_dbi_open", path) }
        try StoreError.check(mdb_txn_commit(txn), "mdb_txn_commit", path)
    }

    /// Runs `body` in a short read-only transaction. Throws what `body` throws or `StoreError.lmdb`.
    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        guard env != nil else { throw StoreError.closed(path: path) }
        var txn: OpaquePointer?
        try StoreError.check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin", path)
        defer { mdb_txn_abort(txn) }
        return try body(LMDBTransaction(txn: txn!, path: path))
    }

    /// Runs `body` in the write transaction: commits on return, aborts on throw.
    func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        guard env != nil else { throw StoreError.closed(path: path) }
        var txn: OpaquePointer?
        try StoreError.check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin", path)
        let result: T
        do {
            result = try body(LMDBTransaction(txn: txn!, path: path))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        try StoreError.check(mdb_txn_commit(txn), "mdb_txn_commit", path)
        return result
    }

    /// Doubles the map (no transaction of this process may be active). Throws
    /// `StoreError.full` past `limit`.
    func grow(limit: Int) throws {
        guard env != nil else { throw StoreError.closed(path: path) }
        guard mapSize < limit else { throw StoreError.full(path: path, mapSize: mapSize) }
        let next = min(limit, mapSize * 2)
        try StoreError.check(mdb_env_set_mapsize(env, next), "mdb_env_set_mapsize", path)
        mapSize = next
    }

    /// Flushes to disk. Throws `StoreError.lmdb` (durability then unknown).
    func sync() throws {
        guard env != nil else { throw StoreError.closed(path: path) }
        try StoreError.check(mdb_env_sync(env, 1), "mdb_env_sync", path)
    }

    /// Frees the reader slots of processes that died inside a read transaction
    /// (they pin old pages, so the file grows); returns how many.
    func readerCheck() -> Int {
        guard let env, !readOnly else { return 0 }
        var dead: Int32 = 0
        mdb_reader_check(env, &dead)
        return Int(dead)
    }

    func info() -> (mapSize: Int, lastPage: Int, pageSize: Int, readers: Int, maxReaders: Int) {
        guard env != nil else { return (0, 0, 0, 0, 0) }
        var i = MDB_envinfo()
        mdb_env_info(env, &i)
        var s = MDB_stat()
        mdb_env_stat(env, &s)
        return (i.me_mapsize, Int(i.me_last_pgno), Int(s.ms_psize), Int(i.me_numreaders), Int(i.me_maxreaders))
    }

    func close() {
        if let env { mdb_env_close(env) }
        env = nil
    }

    deinit { close() }
}

/// A transaction handed to a closure; valid only inside it.
struct LMDBTransaction {
    let txn: OpaquePointer
    let path: String

    /// The value under `key`, valid until the transaction ends; nil when absent.
    func get(_ dbi: MDB_dbi, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(), v = MDB_val()
        return try key.withUnsafeBytes { kb -> UnsafeRawBufferPointer? in
            k.mv_size = kb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
            let rc = mdb_get(txn, dbi, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try StoreError.check(rc, "mdb_get", path)
            return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
        }
    }

    func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws {
        try withPair(key, value) { k, v in try StoreError.check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put", path) }
    }

    /// Calls `body` with `key` and `value` as MDB_vals (valid only inside it).
    private func withPair<T>(_ key: [UInt8], _ value: [UInt8], _ body: (inout MDB_val, inout MDB_val) throws -> T) rethrows -> T {
        var k = MDB_val(), v = MDB_val()
        return try key.withUnsafeBytes { kb in
            try value.withUnsafeBytes { vb in
                k.mv_size = kb.count
                k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
                v.mv_size = vb.count
                v.mv_data = UnsafeMutableRawPointer(mutating: vb.baseAddress)
                return try body(&k, &v)
            }
        }
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    func delete(_ dbi: MDB_dbi, _ key: [UInt8]) throws -> Bool {
        var k = MDB_val()
        return try key.withUnsafeBytes { kb in
            k.mv_size = kb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
            let rc = mdb_del(txn, dbi, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try StoreError.check(rc, "mdb_del", path)
            return true
        }
    }

    /// Calls `body` with each key and value from the first key >= `from` in
    /// order, until it returns false.
    func scan(_ dbi: MDB_dbi, from: [UInt8] = [], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor: OpaquePointer?
        try StoreError.check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open", path)
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val(), v = MDB_val()
        var rc: Int32 = from.withUnsafeBytes { fb in
            if fb.isEmpty { return mdb_cursor_get(cursor, &k, &v, MDB_FIRST) }
            k.mv_size = fb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: fb.baseAddress)
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
        }
        while rc == 0 {
            let more = try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
            if !more { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try StoreError.check(rc, "mdb_cursor_get", path) }
    }

    /// Adds the pair `key`/`value` to a DUPSORT database (already there: no change).
    func putDuplicate(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws {
        try withPair(key, value) { k, v in
            let rc = mdb_put(txn, dbi, &k, &v, UInt32(MDB_NODUPDATA))
            if rc != MDB_KEYEXIST { try StoreError.check(rc, "mdb_put", path) }
        }
    }

    /// Deletes the one pair `key`/`value` of a DUPSORT database; false when absent.
    @discardableResult
    func deleteDuplicate(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws -> Bool {
        try withPair(key, value) { k, v in
            let rc = mdb_del(txn, dbi, &k, &v)
            if rc == MDB_NOTFOUND { return false }
            try StoreError.check(rc, "mdb_del", path)
            return true
        }
    }

    /// Deletes every record of `dbi` (the database itself stays). Throws `StoreError.lmdb`.
    func empty(_ dbi: MDB_dbi) throws {
        try StoreError.check(mdb_drop(txn, dbi, 0), "mdb_drop", path)
    }

    func count(_ dbi: MDB_dbi) throws -> Int {
        var s = MDB_stat()
        try StoreError.check(mdb_stat(txn, dbi, &s), "mdb_stat", path)
        return Int(s.ms_entries)
    }

    func pages(_ dbi: MDB_dbi) throws -> (branch: Int, leaf: Int, overflow: Int, depth: Int) {
        var s = MDB_stat()
        try StoreError.check(mdb_stat(txn, dbi, &s), "mdb_stat", path)
        return (Int(s.ms_branch_pages), Int(s.ms_leaf_pages), Int(s.ms_overflow_pages), Int(s.ms_depth))
    }
}
