import CacheStore
import CapuchinSystem
import Compression

/// How a stored variant is indexed in the cache's LMDB store: an entry of kind
/// `.variant` under its source's key plus NUL and the coding token (NUL never
/// occurs in a request path), whose file fields describe the variant's body
/// file (so `cachedump verify` checks it as any file) and whose `extra` holds
/// the coding and the source's path and version (device, inode, size, mtime):
/// the variant is good only while the source is that version.
struct VariantRecord: Equatable {
    var sourceKey: String
    var coding: ContentCoding
    var sourcePath: String
    var source: FileIdentity
    var bodyPath: String
    var body: FileIdentity
    var contentType: String
    var etag: String
    var insertedAtNanos: Int64

    static func key(sourceKey: String, coding: ContentCoding) -> String { VariantExtra.key(sourceKey: sourceKey, coding: coding.token) }

    var key: String { Self.key(sourceKey: sourceKey, coding: coding) }

    var entry: EntryRecord {
        let extra = VariantExtra(coding: coding.token, sourcePath: sourcePath, source: source)
        return EntryRecord(key: key, kind: .variant, originPath: bodyPath, device: body.device, inode: body.inode,
                           size: Int64(body.size), mtimeNanos: body.mtimeNanos, contentType: contentType, etag: etag,
                           insertedAtNanos: insertedAtNanos, lastAccessNanos: insertedAtNanos, extra: extra.bytes)
    }

    /// The variant a stored record describes; nil for another kind or a damaged record.
    init?(_ r: EntryRecord) {
        guard r.kind == .variant, let nul = r.key.lastIndex(of: "\u{0}"), let x = VariantExtra(r.extra),
              let coding = ContentCoding(token: x.coding), String(r.key[r.key.index(after: nul)...]) == coding.token,
              r.size >= 0 else { return nil }
        sourceKey = String(r.key[..<nul])
        self.coding = coding
        sourcePath = x.sourcePath
        source = x.source
        bodyPath = r.originPath
        body = FileIdentity(device: r.device, inode: r.inode, size: Int(r.size), mtimeNanos: r.mtimeNanos, isRegular: true,
                            isDirectory: false)
        contentType = r.contentType
        etag = r.etag
        insertedAtNanos = r.insertedAtNanos
    }

    init(sourceKey: String, coding: ContentCoding, sourcePath: String, source: FileIdentity, bodyPath: String, body: FileIdentity,
         contentType: String, etag: String, insertedAtNanos: Int64) {
        self.sourceKey = sourceKey
        self.coding = coding
        self.sourcePath = sourcePath
        self.source = source
        self.bodyPath = bodyPath
        self.body = body
        self.contentType = contentType
        self.etag = etag
        self.insertedAtNanos = insertedAtNanos
    }
}
