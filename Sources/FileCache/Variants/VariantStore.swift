import CacheStore
import CapuchinServer
import CapuchinSystem
import Compression

/// The stored variants: their bodies as files in `<cache dir>/variants`, their
/// index in the cache's LMDB store (`VariantRecord`). A variant is good while
/// its source is the version recorded; otherwise its file and record go.
final class VariantStore: @unchecked Sendable { // safe: lets; CachePersistence is thread-safe
    /// Where small variant and sibling bodies are copied: slab slots, as the
    /// file cache's small bodies (no mapping each, so `vm.max_map_count` bounds only large ones).
    static let slabs = SlabAllocator(largest: FileCache.snapshotLimit)

    /// A variant's or sibling's body (see `FileCache.body(of:identity:path:)`).
    /// `immutable`: a stored variant's own file, kept open for sendfile when at
    /// least `sendfileMinimum` bytes (a sibling is the author's file: it may be
    /// rewritten in place, so it is only ever sent from memory).
    static func body(of file: OpenFile, identity: FileIdentity, path: String, immutable: Bool = false) throws -> MappedFile {
        try FileCache.body(of: file, identity: identity, path: path, slabs: slabs, mappingLimit: .max,
                           immutable: immutable && identity.size >= sendfileMinimum)
    }

    /// Stored variants at least this large are sent with sendfile from their
    /// open file on plain connections (TLS encrypts from the memory copy).
    /// Below it one writev of head and body from memory costs less than a
    /// writev and a sendfile (measured: see Tools/bench/compression.py).
    static let sendfileMinimum = 16 << 10

    let directory: String
    let persistence: CachePersistence
    /// Whether variant heads carry the cache's `X-Cache: HIT` lines.
    let marksHits: Bool

    /// Creates `directory`. Throws `SystemError`.
    init(directory: String, persistence: CachePersistence, marksHits: Bool) throws {
        try FileSystem.makeDirectories(directory)
        self.directory = directory
        self.persistence = persistence
        self.marksHits = marksHits
    }

    /// A name per source version and coding: a new version never overwrites
    /// the file an older one's response may still be sending.
    func bodyPath(_ set: VariantSet, _ coding: ContentCoding) -> String {
        let h = CacheKey.hash(site: set.site, path: set.path)
        return "\(directory)/\(String(h, radix: 16))-\(String(set.source.inode, radix: 16))-"
            + "\(String(UInt64(bitPattern: set.source.mtimeNanos), radix: 16)).\(coding.token)"
    }

    /// The stored variant of this version in `coding`, if its record and file
    /// are there and agree (a point read and an open; once per set and coding).
    /// A record of an older version of the source is removed with its file.
    func load(_ set: VariantSet, _ coding: ContentCoding) -> Variant? {
        let key = VariantRecord.key(sourceKey: set.sourceKey, coding: coding)
        guard let r = try? persistence.entry(key: key), let rec = VariantRecord(r) else { return nil }
        guard rec.source.sameVersion(as: set.source), rec.sourcePath == set.originPath else {
            if !rec.source.isCurrent(at: rec.sourcePath) { forget(key: key, bodyPath: rec.bodyPath) }
            return nil
        }
        guard let file = try? OpenFile(path: rec.bodyPath), let id = try? file.identity(), id.isRegular, id.sameVersion(as: rec.body),
              let mapping = try? Self.body(of: file, identity: id, path: rec.bodyPath, immutable: true) else {
            forget(key: key, bodyPath: rec.bodyPath)
            return nil
        }
        return variant(set, coding, body: .mapped(mapping), size: id.size, bodyPath: rec.bodyPath, bodyIdentity: id)
    }

    /// Writes `bytes` as the variant's file (a temporary renamed into place),
    /// indexes it and returns it served from a snapshot or mapping of that
    /// file. Throws `SystemError`, `ConditionFailure`.
    func write(_ set: VariantSet, _ coding: ContentCoding, bytes: [UInt8]) throws -> Variant? {
        let path = bodyPath(set, coding)
        let tmp = path + ".tmp"
        _ = FileSystem.removeFile(tmp)
        let fd = try FileDescriptor.open(tmp, .writeOnly, options: .exclusiveCreate, permissions: 0o600)
        do { try fd.writeAll(bytes) } catch {
            fd.close()
            _ = FileSystem.removeFile(tmp)
            throw error
        }
        fd.close()
        try FileSystem.rename(tmp, to: path)
        let file = try OpenFile(path: path)
        let id = try file.identity()
        let mapping = try Self.body(of: file, identity: id, path: path, immutable: true)
        let rec = VariantRecord(sourceKey: set.sourceKey, coding: coding, sourcePath: set.originPath, source: set.source,
                                bodyPath: path, body: id, contentType: set.contentType,
                                etag: Variant.etag(base: set.baseEtag, coding: coding), insertedAtNanos: Clock.wallNanos())
        persistence.enqueue(.put(rec.entry))
        return variant(set, coding, body: .mapped(mapping), size: id.size, bodyPath: path, bodyIdentity: id)
    }

    /// A variant of `set` in `coding` with its head (nil only for a damaged content type).
    func variant(_ set: VariantSet, _ coding: ContentCoding, body: FileBody, size: Int, bodyPath: String?,
                 bodyIdentity: FileIdentity?) -> Variant? {
        let etag = Variant.etag(base: set.baseEtag, coding: coding)
        guard let head = set.makeHead.map({ $0(coding, etag) })
                ?? Variant.head(contentType: set.contentType, etag: etag, mtimeNanos: set.source.mtimeNanos, coding: coding, mark: marksHits)
        else { return nil }
        return Variant(coding: coding, body: body, size: size, etag: etag, head: head, isSibling: false,
                       fileIdentity: bodyIdentity, filePath: bodyPath)
    }

    /// Removes a variant's record and file.
    func forget(key: String, bodyPath: String) {
        persistence.enqueue(.remove(key: key))
        _ = FileSystem.removeFile(bodyPath)
    }

    /// Deletes what a replaced or deleted version left: the variants the set
    /// holds, and records of that version it never loaded.
    func retire(_ set: VariantSet) {
        for v in set.retire() { if let p = v.filePath { forget(key: VariantRecord.key(sourceKey: set.sourceKey, coding: v.coding), bodyPath: p) } }
        for coding in ContentCoding.allCases {
            let key = VariantRecord.key(sourceKey: set.sourceKey, coding: coding)
            if let r = try? persistence.entry(key: key), let rec = VariantRecord(r), rec.source.sameVersion(as: set.source) {
                forget(key: key, bodyPath: rec.bodyPath)
            }
        }
    }

    /// At start, in the background: drops records whose source changed or
    /// vanished while the server was down (or whose file is gone), and files no
    /// record names (a crash between the rename and the commit). Files newer
    /// than the sweep are left alone: their records may not be committed yet.
    /// Returns how many records were kept.
    @discardableResult
    func sweep() -> Int {
        let started = Clock.wallNanos()
        var referenced = Set<String>()
        // Only the variants are decoded (the index load reads the file records meanwhile).
        guard let records = try? persistence.entries(kind: .variant) else { return 0 }
        for r in records {
            guard let rec = VariantRecord(r) else {
                persistence.enqueue(.remove(key: r.key))
                continue
            }
            if rec.source.isCurrent(at: rec.sourcePath) && rec.body.isCurrent(at: rec.bodyPath) {
                referenced.insert(rec.bodyPath)
            } else {
                forget(key: rec.key, bodyPath: rec.bodyPath)
            }
        }
        for name in FileSystem.contentsOfDirectory(directory) {
            let path = directory + "/" + name
            guard !referenced.contains(path), let id = try? statPath(path), id.isRegular,
                  id.mtimeNanos < started - 1_000_000_000 else { continue }
            _ = FileSystem.removeFile(path)
        }
        return referenced.count
    }
}
