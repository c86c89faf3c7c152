import CacheStore
import CapuchinServer
import CapuchinSystem
import Synchronization

/// One cached file. Immutable but for its counters: a changed file gets a new
/// entry, so a worker writing an old entry's mapping keeps it alive untouched.
/// A million of these may be resident: only what a hit needs and cannot
/// derive is stored (the site and path are the key's two halves, the head is
/// built from the content type, entity tag and mtime on each hit, the policy
/// charge from the size).
final class CacheEntry: Sendable {
    /// "site/path": the site is everything before the first "/".
    let key: String
    let hash: UInt64
    let originPath: String
    let identity: FileIdentity
    /// Whether the head carries "X-Cache: HIT" (the cache's `x_cache_header`).
    let marksHits: Bool
    /// Interned: entries of one type share the string's storage.
    let contentType: String
    let etag: String
    /// Nil for an entry loaded from the store and not yet hit (mapped lazily).
    let mapping: MappedFile?
    let insertedAtNanos: Int64
    /// Requests served from the entry: persisted count plus this run's hits.
    let accessCount: Atomic<UInt64>
    /// Hits not yet sent to the store.
    let pendingHits = Atomic<UInt64>(0)
    /// Monotonic time taken before the last check of the file (its version was
    /// seen as of then or later; 0: never), and of the last touch sent to the store.
    let checkedAtNanos: Atomic<UInt64>
    let touchedAtNanos: Atomic<UInt64>
    /// Wall-clock nanoseconds of the last hit (admission or load time before one).
    let lastAccessNanos: Atomic<Int64>

    /// `contentType` and `etag` hold no CR, LF or NUL (`EntryHeaders.build` checked them).
    init(key: String, hash: UInt64, originPath: String, identity: FileIdentity, marksHits: Bool,
         contentType: String, etag: String, mapping: MappedFile?, insertedAtNanos: Int64,
         accessCount: UInt64, checkedAtNanos: UInt64, lastAccessNanos: Int64, touchedAtNanos: UInt64? = nil) {
        self.key = key
        self.hash = hash
        self.originPath = originPath
        self.identity = identity
        self.marksHits = marksHits
        self.contentType = ContentTypes.intern(contentType)
        self.etag = etag
        self.mapping = mapping
        self.insertedAtNanos = insertedAtNanos
        self.accessCount = Atomic(accessCount)
        self.checkedAtNanos = Atomic(checkedAtNanos)
        self.touchedAtNanos = Atomic(touchedAtNanos ?? checkedAtNanos)
        self.lastAccessNanos = Atomic(lastAccessNanos)
    }

    /// The same entry with a mapping (first hit after a restart).
    func withMapping(_ mapping: MappedFile) -> CacheEntry {
        let e = CacheEntry(key: key, hash: hash, originPath: originPath, identity: identity, marksHits: marksHits,
                           contentType: contentType, etag: etag, mapping: mapping,
                           insertedAtNanos: insertedAtNanos,
                           accessCount: accessCount.load(ordering: .relaxed),
                           checkedAtNanos: checkedAtNanos.load(ordering: .relaxed),
                           lastAccessNanos: lastAccessNanos.load(ordering: .relaxed),
                           touchedAtNanos: touchedAtNanos.load(ordering: .relaxed))
        e.pendingHits.store(pendingHits.load(ordering: .relaxed), ordering: .relaxed)
        return e
    }

    /// Whether this is the entry of `site` + `path`: the key's bytes compared
    /// in place (no key is built on a hit).
    @inline(__always)
    func matches(site: String, path: String) -> Bool {
        guard key.utf8.count == site.utf8.count + path.utf8.count else { return false }
        return withUTF8Bytes(key) { k in
            withUTF8Bytes(site) { s in
                withUTF8Bytes(path) { p in
                    (s.count == 0 || memoryEqual(k.baseAddress!, s.baseAddress!, count: s.count))
                        && (p.count == 0 || memoryEqual(k.baseAddress! + s.count, p.baseAddress!, count: p.count))
                }
            }
        }
    }

    /// The header lines of a plain 200 (see `EntryHeaders.build`), with
    /// `Vary: Accept-Encoding` when `varies`, built on each hit: a prebuilt copy
    /// cost ~200 bytes an entry, more than the index.
    func headerBytes(varies: Bool = false) -> [UInt8] {
        EntryHeaders.lines(contentType: contentType, etag: etag, mtimeNanos: identity.mtimeNanos, xCache: marksHits, varies: varies)
    }

    /// The body bytes `offset..<offset+count`, a slice of the mapping. Never a
    /// file slice for sendfile: the pages sendfile queues stay shared with the
    /// file, so a truncation after the call still changes what the client reads
    /// (measured: 30% less kernel time for 256 KiB, but wrong bytes).
    @inline(__always)
    func body(offset: Int, count: Int) -> ResponseBody {
        guard count > 0, let mapping else { return .empty }
        return .mapped(mapping, offset: offset, count: count)
    }

    /// What the admin API shows of an entry.
    var info: CacheEntryInfo {
        CacheEntryInfo(key: key, originPath: originPath, size: identity.size, contentType: contentType, etag: etag,
                       hits: accessCount.load(ordering: .relaxed), insertedAtNanos: insertedAtNanos,
                       lastAccessNanos: lastAccessNanos.load(ordering: .relaxed), mapped: mapping != nil)
    }

    /// The store record for this entry with the policy's state.
    func record(policyState: (word: UInt64, sequence: UInt64)) -> EntryRecord {
        EntryRecord(key: key, kind: .file, originPath: originPath, device: identity.device, inode: identity.inode,
                    size: Int64(identity.size), mtimeNanos: identity.mtimeNanos, contentType: contentType, etag: etag,
                    insertedAtNanos: insertedAtNanos, lastAccessNanos: lastAccessNanos.load(ordering: .relaxed),
                    accessCount: accessCount.load(ordering: .relaxed),
                    policyState: policyState.word, policySequence: policyState.sequence)
    }
}

/// An entry as the admin API lists it.
public struct CacheEntryInfo: Sendable, Equatable {
    public var key: String
    public var originPath: String
    public var size: Int
    public var contentType: String
    public var etag: String
    public var hits: UInt64
    /// Wall-clock nanoseconds since the epoch.
    public var insertedAtNanos: Int64
    public var lastAccessNanos: Int64
    /// False until the first hit after a restart maps it.
    public var mapped: Bool
}
