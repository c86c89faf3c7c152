import CachePolicies
import Dispatch
import CapuchinSystem
import HTTPCore
import Synchronization

/// What start-up recovery removed.
public struct RecoveryReport: Sendable, Equatable {
    public var temporaryFilesRemoved = 0
    public var orphanBodiesRemoved = 0
    /// Index entries dropped: body missing, of the wrong size, or bad metadata.
    public var entriesDropped = 0
    public var entriesKept = 0
}

/// Response bodies as files under `<cache dir>/proxy/`, indexed in the
/// persistent `ProxyIndex`. Order of a store: write a temporary file, fsync
/// it (sync durability), rename it into place, fsync the directory (sync),
/// then index it; so an index entry never names a file that was not complete.
/// Start-up recovery removes temporary files and unindexed bodies and drops
/// entries whose body is missing or of the wrong size; after kill -9 no entry
/// points to a missing or partial body. With a size limit, an eviction
/// policy (CachePolicies' default, as the file cache) decides what stays;
/// an evicted response loses its index entry and body file together.
/// Thread-safe.
public final class ProxyBodyStore: @unchecked Sendable { // safe: all lets, state under its mutexes; `log` is not @Sendable but is given thread-safe loggers (ErrorLog)
    /// The in-memory side, under one lock: variants by primary key and the policy.
    struct State {
        /// Primary key -> its stored variants (one per Vary key).
        var table: [String: [CachedObject]] = [:]
        var policy: (any EvictionPolicy)?
        /// Policy key -> store key.
        var keys: [UInt64: String] = [:]
        /// Tag -> store keys (purges by tag).
        var tags = TagMap()
        /// Purges by tag and prefix not yet carried out (`ProxyPurge`).
        var stamps = PurgeStamps()
    }

    public static let keyPrefix = "proxy:"

    public let root: String
    let tempDirectory: String
    let durability: BodyDurability
    let maxObjectSize: Int
    /// What responses too large to store may take while spooled for coalesced waiters.
    let spoolBudget: SpoolBudget
    let index: ProxyIndex
    let limit: ProxyCacheLimit?
    let state = Lock(State())
    let recoveryReport = Lock(RecoveryReport())
    /// Problems (warnings), and what the load did (info).
    let log: (String) -> Void
    let info: (String) -> Void
    /// The index load when it runs on its own thread (`startLoading`).
    let loading = BackgroundJob()
    /// From a `loadLater` init until the load is done.
    let warming = Atomic<Bool>(false)
    /// Unlinks the body files of large purges off the purging thread (see `ProxyPurge`).
    let reaper = DispatchQueue(label: "proxy-body-reaper")
    /// The large bodies' mappings, bounded (`ProxyBodyStore+Bodies`).
    let largeBodies: BodyMappings
    /// See `defaultSmallBodyMemory`.
    let smallBodyMemory: Int
    /// Carries out purges by tag and prefix after they are answered (`ProxyPurge`).
    let lurker = DispatchQueue(label: "proxy-purge-lurker")
    /// Told the entries removed (purged, evicted, replaced), off the lock: their compressed variants go too.
    let removalHook = Lock<(@Sendable ([ProxyIndexEntry]) -> Void)?>(nil)

    /// What start-up recovery removed and kept (complete once loaded).
    public var recovery: RecoveryReport { recoveryReport.withLock { $0 } }

    /// Opens the store in `<cacheDirectory>/proxy`, creating it, removes
    /// temporary files and (unless `loadLater`) runs the recovery and loads the
    /// index. Throws `ProxyStoreError.io` when the directories cannot be
    /// created, or the index's error when it cannot be read.
    /// `limit` nil: no size limit. Entries over the limit at start-up (a
    /// smaller limit configured) are dropped, least valuable first.
    /// `loadLater`: the caller starts the load with `startLoading` (the server
    /// listens meanwhile; see there). `mappingLimit`: the large bodies' mappings kept at most.
    /// `smallBodyMemory`: the copies of small bodies (all stores' slabs) at most; past it they are mapped.
    public init(cacheDirectory: String, index: ProxyIndex, durability: BodyDurability = .batched,
                maxObjectSize: Int = 64 << 20, spoolCapacity: Int = 1 << 30, limit: ProxyCacheLimit? = nil, loadLater: Bool = false,
                mappingLimit: Int = ProxyBodyStore.defaultMappingLimit,
                smallBodyMemory: Int = ProxyBodyStore.defaultSmallBodyMemory, log: @escaping (String) -> Void = { _ in },
                info: @escaping (String) -> Void = { _ in }) throws {
        root = cacheDirectory + "/proxy"
        tempDirectory = root + "/tmp"
        self.durability = durability
        self.maxObjectSize = maxObjectSize
        spoolBudget = SpoolBudget(capacity: spoolCapacity)
        self.index = index
        self.limit = limit
        self.log = log
        self.info = info
        largeBodies = BodyMappings(capacity: max(1, mappingLimit))
        self.smallBodyMemory = smallBodyMemory
        try BodyFiles.makeDirectories(tempDirectory)
        // Before serving: a fill may write here as soon as the server listens.
        var report = RecoveryReport()
        for name in BodyFiles.list(tempDirectory) {
            BodyFiles.unlinkIfPresent(tempDirectory + "/" + name)
            report.temporaryFilesRemoved += 1
        }
        recoveryReport.withLock { $0 = report }
        // Before the first lookup: purges acknowledged before a stop or crash hold at once.
        do {
            if let blob = try index.loadBlob(PurgeStamps.blobName) {
                if let stamps = PurgeStamps(encoded: blob) {
                    state.withLock { $0.stamps = stamps }
                } else {
                    log("proxy cache: the purge stamps in the index are unreadable; purges not carried out before the last stop are lost")
                }
            }
        } catch {
            log("proxy cache: reading the purge stamps: \(error)")
        }
        if loadLater { warming.store(true, ordering: .releasing) } else { try load() }
    }

    static func policyKey(_ storeKey: String) -> UInt64 { StableHash.hash(storeKey) }

    /// The index key of a response: primary key plus a hash of its Vary key.
    public static func storeKey(primary: String, vary: VaryKey) -> String {
        keyPrefix + primary + "#" + StableHash.hex(StableHash.hash(vary.value + (vary.matchesNothing ? "*" : "")))
    }

    static func primary(ofStoreKey key: String) -> String {
        // On the UTF-8 view: a purge calls this per key, and Characters are slow to walk.
        let withoutPrefix = key.utf8.dropFirst(keyPrefix.utf8.count)
        guard let hash = withoutPrefix.lastIndex(of: UInt8(ascii: "#")) else { return String(Substring(withoutPrefix)) }
        return String(Substring(withoutPrefix[..<hash]))
    }

    // MARK: writing

    /// A writer for a new body. Throws `ProxyStoreError.io` when the temporary
    /// file cannot be created.
    public func makeWriter() throws -> BodyWriter {
        try BodyWriter(tempPath: tempDirectory + "/" + StableHash.hex(UInt64.random(in: .min ... .max)) + ".tmp", limit: maxObjectSize)
    }

    /// Makes the written body the stored response for `primary`/`response.vary`,
    /// replacing the variant with the same Vary key, with its cache `tags`.
    /// Throws `ProxyStoreError` (the writer's file is then removed and nothing is indexed).
    @discardableResult
    public func commit(_ writer: BodyWriter, primary: String, response: StoredResponse, tags: [String] = [],
                       nowNanos: Int64) throws -> CachedObject {
        let key = Self.storeKey(primary: primary, vary: response.vary)
        // While the index loads, the recovery may still take unindexed bodies for orphans.
        if isWarming {
            writer.abort()
            throw ProxyStoreError.notAdmitted
        }
        let evicted: [String]
        do { evicted = try admit(key, size: writer.bytesWritten) } catch {
            writer.abort()
            throw error
        }
        for k in evicted { remove(key: k) }
        let keyHash = StableHash.hex(StableHash.hash(key))
        let dir = root + "/" + keyHash.prefix(2)
        let path = dir + "/" + keyHash + "-" + StableHash.hex(UInt64.random(in: .min ... .max))
        do {
            try writer.finish(sync: durability == .sync)
            try BodyFiles.makeDirectories(dir)
            try BodyFiles.rename(writer.tempPath, path)
            if durability == .sync { try BodyFiles.syncDirectory(dir) }
        } catch {
            writer.abort()
            state.withLock { st in
                st.policy?.remove(Self.policyKey(key))
                st.keys.removeValue(forKey: Self.policyKey(key))
            }
            throw error
        }
        var stored = response
        stored.bodySize = writer.bytesWritten
        let entry = ProxyIndexEntry(key: key, bodyPath: path, size: Int64(writer.bytesWritten), etag: stored.etag ?? "",
                                    contentType: stored.headers["Content-Type"] ?? "", insertedAtNanos: nowNanos,
                                    extra: StoredResponseCodec.encode(stored), tags: tags, policy: policyState(ofStoreKey: key))
        // Its headers decoded again at its first hit, not kept until then.
        let object = CachedObject(encoded: entry, vary: stored.vary)
        let replaced = state.withLock { st -> ProxyIndexEntry? in
            // Queued under the table's lock, as every index change of the table: the
            // index gets them in the table's order (a purge's removal of the old
            // response never lands after this put).
            index.put(entry)
            var variants = st.table[primary] ?? []
            let old = variants.firstIndex { $0.entry.key == key }.map { variants.remove(at: $0).entry }
            variants.append(object)
            st.table[primary] = variants
            if let old { st.tags.remove(old) }
            st.tags.add(entry)
            return old
        }
        if let replaced, replaced.bodyPath != path {
            unlinkBody(replaced.bodyPath)
            tellRemoved([replaced])
        }
        return object
    }

    /// Charges a new body of `size` bytes for `key` to the policy (replacing
    /// its old charge); returns the store keys evicted to make room. Throws
    /// `ProxyStoreError.notAdmitted` when the policy refuses it.
    private func admit(_ key: String, size: Int) throws -> [String] {
        guard let limit else { return [] }
        let h = Self.policyKey(key)
        return try state.withLock { st -> [String] in
            guard let policy = st.policy else { return [] }
            policy.remove(h)
            let (admitted, evicted) = policy.recordMiss(h, size: limit.charge(forSize: size))
            guard admitted else {
                st.keys.removeValue(forKey: h)
                throw ProxyStoreError.notAdmitted
            }
            st.keys[h] = key
            return evicted.compactMap { st.keys.removeValue(forKey: $0) }
        }
    }

    /// Bytes charged and responses held, against the limit (nil without one).
    public var usage: (charged: Int, capacity: Int)? {
        state.withLock { st in st.policy.map { ($0.used, $0.capacity) } }
    }

    /// Replaces the metadata of a stored response (after a 304), keeping its
    /// body and tags; a soft purge is over (the origin validated it). Returns the updated object.
    @discardableResult
    public func updateMetadata(of object: CachedObject, to response: StoredResponse) -> CachedObject {
        var entry = object.entry
        entry.softPurgedAtNanos = 0
        // The index record is replaced whole: it keeps the current popularity.
        entry.policy = policyState(ofStoreKey: entry.key) ?? entry.policy
        var stored = response
        stored.bodySize = Int(entry.size)
        entry.extra = StoredResponseCodec.encode(stored)
        entry.etag = stored.etag ?? ""
        var updated = CachedObject(entry: entry, response: stored)
        updated.validatedAtNanos = Clock.wallNanos()
        state.withLock { st in
            let primary = Self.primary(ofStoreKey: entry.key)
            // Not when purged or replaced meanwhile: the record would outlive its response.
            if let i = st.table[primary]?.firstIndex(where: { $0.entry.key == entry.key && $0.entry.bodyPath == entry.bodyPath }) {
                index.put(entry)
                st.table[primary]![i] = updated
            }
        }
        return updated
    }

    // MARK: reading and removal

    /// The stored variant of `primary` whose Vary key matches `requestHeaders`.
    public func lookup(primary: String, requestHeaders: HTTPHeaders) -> CachedObject? {
        if isWarming { return warmingLookup(primary: primary, requestHeaders: requestHeaders) }
        return state.withLock { st -> CachedObject? in
            guard let object = st.table[primary]?.first(where: { $0.vary.matches(requestHeaders) }) else { return nil }
            return st.stamps.isEmpty ? object : Self.stamped(object, st.stamps)
        }.flatMap(decodedOrRemoved)
    }

    /// `object` once its headers are decoded (its first use after a load
    /// decodes them, off the table's lock); nil, and removed, when they do not
    /// decode: the load checked them (`StoredResponseCodec.summary`), so only
    /// damaged memory gets here.
    private func decodedOrRemoved(_ object: CachedObject) -> CachedObject? {
        if object.decodes { return object }
        log("proxy cache: dropping \(object.entry.key): its stored headers do not decode")
        // Not a response stored under its key since.
        _ = removeIfCurrent(object.entry)
        return nil
    }

    /// Whether any response is stored under `primary` (a Vary miss, not a URI miss).
    public func hasVariants(primary: String) -> Bool {
        if isWarming { return !indexedVariants(of: primary).isEmpty }
        return state.withLock { st in
            guard let variants = st.table[primary] else { return false }
            return st.stamps.isEmpty ? !variants.isEmpty : variants.contains { Self.stamped($0, st.stamps) != nil }
        }
    }

    /// Removes every variant of `primary` (invalidation by an unsafe method).
    public func invalidate(primary: String) {
        if isWarming {
            // Not in the table yet: remove from the index; a loaded copy finds its body gone.
            for e in indexedVariants(of: primary) where e.bodyPath.hasPrefix(root + "/") {
                index.remove(key: e.key)
                unlinkBody(e.bodyPath)
            }
        }
        let gone = state.withLock { st -> [CachedObject] in
            let gone = st.table.removeValue(forKey: primary) ?? []
            for o in gone {
                Self.forget(o.entry.key, in: &st)
                st.tags.remove(o.entry)
                index.remove(key: o.entry.key)
            }
            return gone
        }
        for o in gone { unlinkBody(o.entry.bodyPath) }
        tellRemoved(gone.map(\.entry))
    }

    /// Removes one stored response (eviction, or a body found damaged).
    public func remove(key: String) {
        let primary = Self.primary(ofStoreKey: key)
        let gone = state.withLock { st -> ProxyIndexEntry? in
            Self.forget(key, in: &st)
            index.remove(key: key)
            guard let i = st.table[primary]?.firstIndex(where: { $0.entry.key == key }) else { return nil }
            let e = st.table[primary]!.remove(at: i).entry
            st.tags.remove(e)
            if st.table[primary]!.isEmpty { st.table.removeValue(forKey: primary) }
            return e
        }
        if let gone {
            unlinkBody(gone.bodyPath)
            tellRemoved([gone])
        }
    }

    /// Tells `removalHook` (on the reaper: it reads the index) that `entries` are gone.
    func tellRemoved(_ entries: [ProxyIndexEntry]) {
        guard !entries.isEmpty, let hook = removalHook.withLock({ $0 }) else { return }
        reaper.async { hook(entries) }
    }

    /// Drops `key` from the policy.
    static func forget(_ key: String, in st: inout State) {
        let h = policyKey(key)
        if st.keys.removeValue(forKey: h) != nil { st.policy?.remove(h) }
    }

    /// Number of stored responses.
    public var count: Int { state.withLock { $0.table.values.reduce(0) { $0 + $1.count } } }

    /// Total body bytes stored.
    public var bodyBytes: Int64 { state.withLock { $0.table.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.entry.size } } } }
}
