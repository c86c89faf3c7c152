import CacheStore
import CapuchinServer
import CapuchinSystem
import Synchronization

/// One cached file, and its body: the entry is the `MappedFile` a response
/// holds (a million entries are one heap object each, not two). Immutable but
/// for its counters: a changed file gets a new entry, so a worker writing an
/// old entry's body keeps it alive untouched. An entry loaded from the store
/// and not yet hit has no bytes (`isMapped` false; `count` is the file's size).
/// A million of these may be resident: only what a hit needs and cannot
/// derive is stored (the site and path are the key's two halves, the head is
/// built from the content type, entity tag and mtime on each hit, the entity
/// tag from the file's identity, the origin path from a shared head and the
/// key, the hash from the key, the policy charge and the file's size from the
/// body's count). EntryMemoryTests counts the bytes.
final class CacheEntry: MappedFile, @unchecked Sendable { // safe: lets and atomics only; `keyStorage` is written once in init and freed in deinit
    // The order of the fields is the layout (after MappedFile's three words):
    // the small ones fill one word (136 bytes an object, a 144-byte malloc chunk).
    /// The key's UTF-8 bytes behind their 4-byte count, one malloc'ed block
    /// (a String's heap object costs 32 bytes more): see `key`, `keyBytes`.
    let keyStorage: UnsafeMutableRawPointer
    /// The origin path less its last `originShared` bytes, which are the
    /// key's (`OriginPath`): interned, one copy for a document root.
    let originHeadBox: InternedString
    // The file's identity less its size (the body's `count`) and kind (a regular file).
    private let device: UInt64
    private let inode: UInt64
    private let mtimeNanos: Int64
    let originShared: UInt32
    /// Hits not yet sent to the store (sent at least once a commit interval).
    let pendingHits = Atomic<UInt32>(0)
    /// Monotonic time of the last touch sent to the store, in ticks of 2^20 ns
    /// (~1 ms, `touchTicks`), wrapping: compared by difference only.
    let touchedAtTicks: Atomic<UInt32>
    /// Whether the head carries "X-Cache: HIT" (the cache's `x_cache_header`).
    let marksHits: Bool
    /// Interned: entries of one type share it.
    private let contentTypeBox: InternedString
    let insertedAtNanos: Int64
    /// Requests served from the entry: persisted count plus this run's hits.
    let accessCount: Atomic<UInt64>
    /// Monotonic time taken before the last check of the file (its version was
    /// seen as of then or later; 0: never).
    let checkedAtNanos: Atomic<UInt64>
    /// Wall-clock nanoseconds of the last hit (admission or load time before one).
    let lastAccessNanos: Atomic<Int64>

    /// A monotonic time in `touchedAtTicks` units.
    @inline(__always)
    static func touchTicks(_ monotonicNanos: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: monotonicNanos >> 20) }

    /// `contentType` holds no CR, LF or NUL (`EntryHeaders.isSafe` checked it).
    /// `touchedAtNanos`: the last touch sent (nil: `checkedAtNanos`).
    /// `mapping`: the body (`identity.size` bytes, unshared: the entry takes
    /// it over, see `MappedFile(adopting:)`), nil for an entry loaded from the store.
    convenience init(key: String, originPath: String, identity: FileIdentity, marksHits: Bool,
                     contentType: String, mapping: MappedFile?, insertedAtNanos: Int64,
                     accessCount: UInt64, checkedAtNanos: UInt64, lastAccessNanos: Int64, touchedAtNanos: UInt64? = nil) {
        let origin = OriginPath.split(originPath, key: key)
        var key = key
        self.init(keyStorage: key.withUTF8 { Self.copyKey(UnsafeRawBufferPointer($0)) },
                  originHead: origin.head, originShared: origin.shared, identity: identity, marksHits: marksHits,
                  contentType: InternTable.contentTypes.box(contentType), mapping: mapping, insertedAtNanos: insertedAtNanos,
                  accessCount: accessCount, checkedAtNanos: checkedAtNanos, lastAccessNanos: lastAccessNanos,
                  touchedAtTicks: Self.touchTicks(touchedAtNanos ?? checkedAtNanos))
    }

    private init(keyStorage: UnsafeMutableRawPointer, originHead: InternedString, originShared: UInt32, identity: FileIdentity,
                 marksHits: Bool, contentType: InternedString, mapping: MappedFile?, insertedAtNanos: Int64,
                 accessCount: UInt64, checkedAtNanos: UInt64, lastAccessNanos: Int64, touchedAtTicks: UInt32) {
        precondition(mapping.map { $0.count == identity.size } ?? true, "an entry's body is its whole file")
        self.keyStorage = keyStorage
        self.originHeadBox = originHead
        device = identity.device
        inode = identity.inode
        mtimeNanos = identity.mtimeNanos
        self.originShared = originShared
        self.touchedAtTicks = Atomic(touchedAtTicks)
        self.marksHits = marksHits
        self.contentTypeBox = contentType
        self.insertedAtNanos = insertedAtNanos
        self.accessCount = Atomic(accessCount)
        self.checkedAtNanos = Atomic(checkedAtNanos)
        self.lastAccessNanos = Atomic(lastAccessNanos)
        if let mapping { super.init(adopting: mapping) } else { super.init(unmappedCount: identity.size) }
    }

    deinit { keyStorage.deallocate() }

    /// A heap copy of `bytes` behind their count (`keyStorage`'s layout; one
    /// malloc'ed block, as Swift allocates alignments up to 16 with malloc).
    private static func copyKey(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 4 + bytes.count, alignment: 4)
        p.storeBytes(of: UInt32(bytes.count), as: UInt32.self)
        if bytes.count > 0 { (p + 4).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        return p
    }

    /// The same entry with a body (first hit after a restart): `mapping`
    /// holds the whole file and is taken over (unshared, not used afterwards).
    func withMapping(_ mapping: MappedFile) -> CacheEntry {
        let e = CacheEntry(keyStorage: Self.copyKey(keyBytes), originHead: originHeadBox, originShared: originShared,
                           identity: identity, marksHits: marksHits, contentType: contentTypeBox, mapping: mapping,
                           insertedAtNanos: insertedAtNanos,
                           accessCount: accessCount.load(ordering: .relaxed),
                           checkedAtNanos: checkedAtNanos.load(ordering: .relaxed),
                           lastAccessNanos: lastAccessNanos.load(ordering: .relaxed),
                           touchedAtTicks: touchedAtTicks.load(ordering: .relaxed))
        e.pendingHits.store(pendingHits.load(ordering: .relaxed), ordering: .relaxed)
        return e
    }

    /// Whether the body's bytes are here (false for an entry loaded from the
    /// store and not yet hit; an empty file needs none).
    @inline(__always)
    var isMapped: Bool { base != nil || count == 0 }

    /// The body, or nil before the first hit after a restart maps it.
    var mapping: MappedFile? { isMapped ? self : nil }

    /// The file's version as admitted (a regular file).
    var identity: FileIdentity {
        FileIdentity(device: device, inode: inode, size: count, mtimeNanos: mtimeNanos, isRegular: true, isDirectory: false)
    }

    /// The interned head of the origin path (`OriginPath`).
    var originHead: String { originHeadBox.value }

    /// "site/path": the site is everything before the first "/". Built on each
    /// call (the store's operations and the admin API's listings; a hit
    /// compares `keyBytes` in place).
    var key: String { String(decoding: keyBytes, as: UTF8.self) }

    /// The key's UTF-8 bytes, valid while the entry lives.
    var keyBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: keyStorage + 4, count: Int(keyStorage.load(as: UInt32.self)))
    }

    /// Whether the key is `key`, compared in place.
    func hasKey(_ key: String) -> Bool { matches(site: key, path: "") }

    /// Whether the key starts with `prefix`, compared in place.
    func keyStarts(with prefix: String) -> Bool { keyBytes.starts(with: prefix.utf8) }

    /// Interned: entries of one type share the string's storage.
    var contentType: String { contentTypeBox.value }

    /// The index's and the policy's key (computed from the key: ~40 ns, off the hit path).
    var hash: UInt64 { CacheKey.hash(keyBytes: keyBytes) }

    /// The file's absolute path (built on each call: one allocation).
    var originPath: String { OriginPath.join(head: originHead, shared: originShared, key: keyBytes) }

    /// Whether the file at the origin path is still this entry's version (the
    /// path put together on the stack for the stat).
    var isCurrentOnDisk: Bool {
        OriginPath.withCString(head: originHead, shared: originShared, key: keyBytes) { identity.isCurrent(atCString: $0) }
    }

    /// The strong entity tag a direct answer of this version carries
    /// (`StaticFilePlugin.etag`), derived on each call instead of kept: ~80
    /// bytes an entry.
    var etag: String { StaticFilePlugin.etag(identity) }

    /// Whether this is the entry of `site` + `path`: the key's bytes compared
    /// in place (no key is built on a hit).
    @inline(__always)
    func matches(site: String, path: String) -> Bool {
        let k = keyBytes
        guard k.count == site.utf8.count + path.utf8.count else { return false }
        return withUTF8Bytes(site) { s in
            withUTF8Bytes(path) { p in
                (s.count == 0 || memoryEqual(k.baseAddress!, s.baseAddress!, count: s.count))
                    && (p.count == 0 || memoryEqual(k.baseAddress! + s.count, p.baseAddress!, count: p.count))
            }
        }
    }

    /// The header lines of a plain 200 (see `EntryHeaders.lines`), with
    /// `Vary: Accept-Encoding` when `varies`, built on a hit (`RecentHeads`
    /// keeps the hot ones per worker): a prebuilt copy cost ~200 bytes an
    /// entry. `etag`: the entity tag when the caller derived it already.
    func headerBytes(etag: String? = nil, varies: Bool = false) -> [UInt8] {
        EntryHeaders.lines(contentType: contentType, etag: etag ?? self.etag, mtimeNanos: identity.mtimeNanos, xCache: marksHits,
                           varies: varies)
    }

    /// The body bytes `offset..<offset+count`, a slice of the mapping. Never a
    /// file slice for sendfile: the pages sendfile queues stay shared with the
    /// file, so a truncation after the call still changes what the client reads
    /// (measured: 30% less kernel time for 256 KiB, but wrong bytes).
    @inline(__always)
    func body(offset: Int, count: Int) -> ResponseBody {
        guard count > 0, isMapped else { return .empty }
        return .mapped(self, offset: offset, count: count)
    }

    /// What the admin API shows of an entry.
    var info: CacheEntryInfo {
        CacheEntryInfo(key: key, originPath: originPath, size: identity.size, contentType: contentType, etag: etag,
                       hits: accessCount.load(ordering: .relaxed), insertedAtNanos: insertedAtNanos,
                       lastAccessNanos: lastAccessNanos.load(ordering: .relaxed), mapped: isMapped)
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
