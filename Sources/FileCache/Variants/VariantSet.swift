import CapuchinServer
import CapuchinSystem
import Compression
import Synchronization

/// Bytes of variant bodies held in memory (snapshots, mappings, inline
/// bytes), shared by every set of a table, which evicts sets past its budget.
final class VariantBytes: Sendable {
    let held = Atomic<Int>(0)
    func add(_ delta: Int) { if delta != 0 { held.wrappingAdd(delta, ordering: .relaxed) } }
}

/// The encoded variants of one version of one file: its precompressed
/// siblings and its stored variants, one slot per offered coding (the
/// config's order). A new version of the file gets a new set; the old one is
/// retired (its stored variants deleted in the background).
final class VariantSet: @unchecked Sendable { // safe: lets, and `state` under its lock
    let site: String
    let path: String
    /// The source's cache key (`CacheKey.make`), the prefix of its variants' store keys.
    let sourceKey: String
    let source: FileIdentity
    let originPath: String
    let contentType: String
    /// The identity representation's ETag; each variant's is derived from it.
    let baseEtag: String
    let state: Lock<State>
    let bytes: VariantBytes
    /// The head of a variant's 200 from its coding and ETag (a proxied
    /// response's stored fields); nil: built from the file's metadata.
    let makeHead: (@Sendable (ContentCoding, String) -> [UInt8]?)?
    /// The source never changes in place (a proxied response's body file,
    /// written once): no stat after compressing, and the version is synthetic.
    let immutableSource: Bool

    enum Slot {
        /// Not looked up in the store yet (after a restart, or a set just made).
        case unknown
        case absent
        /// Being compressed (in the background or by a request): nobody else starts it.
        case pending
        case ready(Variant)
        /// Not smaller once encoded: never tried again for this version.
        case refused
    }

    struct State {
        var siblings: [Variant?]
        /// Monotonic time of the last look for siblings (0: never).
        var siblingsCheckedAt: UInt64 = 0
        var stored: [Slot]
        /// Replaced by a newer version's set, or evicted: results for it are discarded.
        var retired = false

        /// Bytes of the bodies it holds.
        var heldBytes: Int {
            siblings.reduce(0) { $0 + ($1?.size ?? 0) } + stored.reduce(0) { if case .ready(let v) = $1 { return $0 + v.size } else { return $0 } }
        }
    }

    /// Runs `body` on the state and accounts for the bytes it added or dropped.
    func update<R>(_ body: (inout State) -> R) -> R {
        let (r, delta): (R, Int) = state.withLock { s in
            let before = s.heldBytes
            let r = body(&s)
            return (r, s.heldBytes - before)
        }
        bytes.add(delta)
        return r
    }

    init(site: String, path: String, source: FileIdentity, originPath: String, contentType: String, baseEtag: String,
         codings: Int, bytes: VariantBytes = VariantBytes(), makeHead: (@Sendable (ContentCoding, String) -> [UInt8]?)? = nil,
         immutableSource: Bool = false) {
        self.bytes = bytes
        self.makeHead = makeHead
        self.immutableSource = immutableSource
        self.site = site
        self.path = path
        sourceKey = CacheKey.make(site: site, path: path)
        self.source = source
        self.originPath = originPath
        self.contentType = contentType
        self.baseEtag = baseEtag
        state = Lock(State(siblings: Array(repeating: nil, count: codings), stored: Array(repeating: .unknown, count: codings)))
    }

    /// Moves slot `i` from absent (or unknown) to pending; false when another request got there first.
    func claim(_ i: Int) -> Bool {
        state.withLock { s in
            switch s.stored[i] {
            case .absent, .unknown:
                guard !s.retired else { return false }
                s.stored[i] = .pending
                return true
            case .pending, .ready, .refused: return false
            }
        }
    }

    /// Puts `slot` in place (a ready variant, absent to give it back, or refused).
    /// False when the set was retired meanwhile (the caller discards the variant).
    @discardableResult
    func settle(_ i: Int, _ slot: Slot) -> Bool {
        update { s in
            guard !s.retired else { return false }
            s.stored[i] = slot
            return true
        }
    }

    /// Every stored variant it held; marks it retired and lets go of its bodies.
    func retire() -> [Variant] {
        update { s in
            s.retired = true
            let held = s.stored.compactMap { if case .ready(let v) = $0, !v.isSibling { return v } else { return nil } }
            s.siblings = s.siblings.map { _ in nil }
            s.stored = s.stored.map { _ in .absent }
            return held
        }
    }
}

/// The variant sets of every file, sharded by the file's cache hash; a
/// lookup takes one shard lock. Bounded in sets and in bytes held: past
/// either, arbitrary sets are forgotten (their stored variants stay in the
/// store and are found again on demand).
final class VariantTable: @unchecked Sendable { // safe: shards are locks
    private let shards: [Lock<[UInt64: VariantSet]>]
    private let perShard: Int
    let bytes = VariantBytes()
    let budget: Int

    init(capacity: Int, budget: Int = 256 << 20, shardCount: Int = 16) {
        shards = (0..<shardCount).map { _ in Lock([:]) }
        perShard = max(16, capacity / shardCount)
        self.budget = budget
    }

    /// The set of this version of the file, made when absent; a set of an
    /// older version is replaced and returned as `retired`.
    func set(site: String, path: String, file: SourcedFile, originPath: String, codings: Int,
             makeHead: (@Sendable (ContentCoding, String) -> [UInt8]?)? = nil, immutableSource: Bool = false) -> (VariantSet, retired: VariantSet?) {
        let h = CacheKey.hash(site: site, path: path)
        let shard = shards[Int(h % UInt64(shards.count))]
        if let found = shard.withLock({ $0[h] }), found.site == site, found.path == path, found.source.sameVersion(as: file.identity),
           found.originPath == originPath, found.contentType == file.contentType {
            return (found, nil)
        }
        let made = VariantSet(site: site, path: path, source: file.identity, originPath: originPath, contentType: file.contentType,
                              baseEtag: file.etag, codings: codings, bytes: bytes, makeHead: makeHead, immutableSource: immutableSource)
        var evicted: [VariantSet] = []
        let old: VariantSet? = shard.withLock { m in
            let old = m[h]
            if old == nil && m.count >= perShard, let victim = m.keys.first { evicted.append(m.removeValue(forKey: victim)!) }
            m[h] = made
            return old
        }
        var next = Int(h % UInt64(shards.count))
        var tries = 0
        while bytes.held.load(ordering: .relaxed) > budget && tries < shards.count * 4 {
            next = (next + 1) % shards.count
            tries += 1
            if let v = shards[next].withLock({ m -> VariantSet? in
                guard let k = m.first(where: { $0.value !== made })?.key else { return nil }
                return m.removeValue(forKey: k)
            }) { evicted.append(v) }
        }
        for v in evicted { _ = v.retire() }
        // Another key with the same hash is not retired: its variants stay valid in the store.
        return (made, old.flatMap { $0.site == site && $0.path == path ? $0 : nil })
    }

    /// Forgets the file's set (its file is gone) and returns it for retiring.
    func remove(site: String, path: String) -> VariantSet? {
        let h = CacheKey.hash(site: site, path: path)
        return shards[Int(h % UInt64(shards.count))].withLock { m in
            guard let s = m[h], s.site == site, s.path == path else { return nil }
            m.removeValue(forKey: h)
            return s
        }
    }

    var count: Int { shards.reduce(0) { $0 + $1.withLock { $0.count } } }
}
