import CLMDB

/// Why a store operation failed. Every case names the store's path.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// An LMDB call failed: which call, its return code and mdb_strerror's text.
    case lmdb(call: String, code: Int32, message: String, path: String)
    /// The store was written by another schema version. Way out: move the
    /// directory aside (`cachedump reset DIR --write` or `mv DIR DIR.old`) and start empty.
    case schemaMismatch(found: UInt32, expected: UInt32, path: String)
    /// A record that cannot be decoded (another format or damaged bytes).
    case corruptRecord(key: String, reason: String)
    /// The directory does not exist and the store was opened read-only.
    case missingDirectory(path: String)
    /// The map cannot grow past `StoreOptions.maxMapSize`: the cache must evict.
    case full(path: String, mapSize: Int)
    /// The store was closed.
    case closed(path: String)

    public var description: String {
        switch self {
        case let .lmdb(call, code, message, path): return "\(path): \(call) failed: \(message) (\(code))"
        case let .schemaMismatch(found, expected, path):
            return "\(path): store schema version \(found), this build reads version \(expected); move the directory aside (cachedump reset \(path) --write) to start empty"
        case let .corruptRecord(key, reason): return "record \(key.debugDescription) cannot be decoded: \(reason)"
        case let .missingDirectory(path): return "\(path): no such cache directory"
        case let .full(path, size): return "\(path): the store is full at its maximum map size \(size) bytes; evict entries or raise max_map_size"
        case let .closed(path): return "\(path): the store is closed"
        }
    }

    /// Turns an LMDB return code into a thrown error.
    static func check(_ rc: Int32, _ call: String, _ path: String) throws {
        if rc != 0 { throw lmdb(call: call, code: rc, message: String(cString: mdb_strerror(rc)), path: path) }
    }

    /// Whether LMDB found damaged pages or a file that is not a store: the
    /// store should be moved aside (`CacheStore.replaceDamaged`).
    public var isDamage: Bool {
        guard let code = lmdbCode else { return false }
        return [MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH].contains(code)
    }

    var lmdbCode: Int32? {
        if case let .lmdb(_, code, _, _) = self { return code }
        return nil
    }
}
