import CapuchinSystem
import HTTPCore

/// A response in the cache: its index entry, its Vary key, and its status,
/// headers and times (`response`). A response loaded from the index keeps its
/// encoded metadata (`entry.extra`, one byte buffer) and decodes it on its
/// first use: a load of a million responses decoded a million headers (31% of
/// the load, and their fields as strings ~1 KB a response) of which most are
/// never hit before they are replaced.
public struct CachedObject: Sendable {
    public var entry: ProxyIndexEntry
    /// What a lookup matches on, decoded at load.
    public let vary: VaryKey
    /// Its decoded headers, hit head, body copy and pending hits (made after
    /// it, shared by its copies).
    let memo: ObjectMemo
    /// A small body's copy in the store's slabs once hit (shared by copies of
    /// this object); a large body's mapping is kept by the store (`BodyMappings`).
    var body: OnceCell<MappedFile> { _read { yield memo.body } }
    /// The head its hits send, built on the first hit.
    var hitHead: OnceCell<HitHead> { _read { yield memo.hitHead } }
    /// Its key in the eviction policy (hashed once, not per hit; `entry.key` never changes).
    let policyKey: UInt64
    /// Hits not yet written to the index (`ProxyBodyStore+Popularity`).
    var hits: HitTally { _read { yield memo.hits } }
    /// When the origin last gave or validated it (wall nanos): a purge stamped
    /// later covers it (`PurgeStamps`). Stored, then after each 304 (in memory:
    /// after a restart the storage time, so at most one revalidation more).
    var validatedAtNanos: Int64

    /// A response stored or revalidated now: `entry.extra` is `response` encoded.
    public init(entry: ProxyIndexEntry, response: StoredResponse) {
        self.entry = entry
        vary = response.vary
        memo = ObjectMemo(response: response)
        policyKey = ProxyBodyStore.policyKey(entry.key)
        validatedAtNanos = entry.insertedAtNanos
    }

    /// A response read from the index, its headers not decoded yet; nil when
    /// its metadata does not decode or names another body size than the entry.
    init?(loaded entry: ProxyIndexEntry) {
        guard let summary = try? StoredResponseCodec.summary(entry.extra), Int64(summary.bodySize) == entry.size else { return nil }
        self.init(encoded: entry, vary: summary.vary)
    }

    /// A response whose headers stay in `entry.extra` (encoded, with Vary key
    /// `vary`) until its first use: one loaded, or one stored now that waits
    /// for its first hit (a filled cache held its decoded headers, ~1 KB a
    /// response, for responses most of which are never hit).
    init(encoded entry: ProxyIndexEntry, vary: VaryKey) {
        self.entry = entry
        self.vary = vary
        memo = ObjectMemo(response: nil)
        policyKey = ProxyBodyStore.policyKey(entry.key)
        validatedAtNanos = entry.insertedAtNanos
    }

    /// Status, headers, times and Vary key, as stored. Decoded on first use
    /// and shared by the copies of this object (its bytes never change: new
    /// metadata makes a new object). Bytes that no longer decode (checked at
    /// load, so only damaged memory) give a 502 without headers, never fresh; `ProxyBodyStore.lookup` drops such an object before any use.
    public var response: StoredResponse {
        decodedResponse()
            ?? StoredResponse(status: 502, headers: HTTPHeaders(), requestTime: 0, responseTime: 0, vary: vary, bodySize: Int(entry.size))
    }

    /// Whether `response` decodes (decoding it now if not yet).
    var decodes: Bool { decodedResponse() != nil }

    private func decodedResponse() -> StoredResponse? { memo.response.get { try? StoredResponseCodec.decode(entry.extra) } }

    /// Whether its headers were decoded (tests: a load leaves them encoded).
    var isDecoded: Bool { memo.response.value != nil }
}
