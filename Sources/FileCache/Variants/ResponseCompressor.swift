import CacheStore
import CapuchinServer
import CapuchinSystem
import Compression
import HTTPCore

/// Compressed variants of responses stored by the reverse proxy's cache, made
/// and kept the same way as a file's: compressed once per coding (small
/// bodies by the request, larger ones on the compression thread), their
/// bodies in their own directory and indexed in the proxy's LMDB store under
/// the response's key. A stored response's body file is written once, so its
/// version is the path, size and storage time the proxy recorded; a response
/// stored again is a new version and its old variants are deleted.
/// An origin's own `Content-Encoding` is never compressed again (callers pass
/// identity responses only).
public final class ResponseCompressor: @unchecked Sendable { // safe: lets of thread-safe objects
    let service: VariantService

    /// An encoded body ready to send, with the head of its 200.
    public struct Encoded {
        public let coding: String
        public let body: FileBody
        public let size: Int
        public let etag: String
        /// The head lines a plain 200 sends (from `makeHead`).
        public let head: [UInt8]
    }

    /// Creates `directory`, uses `index` (the proxy's store) for the records
    /// and starts the compression thread. Throws `SystemError`.
    public init(directory: String, index: CacheStore, config: CompressionConfig = CompressionConfig(), capacity: Int = 100_000,
                log: @escaping (String) -> Void) throws {
        let store = try VariantStore(directory: directory, persistence: StorePersistence(index), marksHits: false)
        service = try VariantService(config: config, store: store, capacity: capacity, log: log)
        try service.start(sweep: false)
    }

    public func stop() { service.stop() }

    /// This run's counters.
    public var stats: CompressionStats { service.counters.snapshot }

    /// Whether a stored 200 of this type and size, with these stored fields, has
    /// encoded variants (and its responses vary on Accept-Encoding): not when it
    /// has a Content-Encoding of its own or says `no-transform`.
    public func compresses(contentType: String?, size: Int, storedHeaders: HTTPHeaders) -> Bool {
        guard let contentType, service.compresses(contentType: contentType, size: size) else { return false }
        for f in storedHeaders.fields {
            if f.name.caseInsensitiveEquals("Content-Encoding") { return false }
            if f.name.caseInsensitiveEquals("Cache-Control"), FieldSyntax.hasListElement(f.value, named: "no-transform") { return false }
        }
        return true
    }

    /// Deletes the variants of stored responses that are gone (purged, evicted
    /// or replaced), given as their keys and body files (the version the
    /// variants were made of); a newer version's are kept. Reads the index:
    /// call it off the serving threads.
    public func forget(_ responses: [(key: String, bodyPath: String)]) {
        guard let store = service.store else { return }
        for (key, bodyPath) in responses {
            if let set = service.table.remove(site: "proxy", path: key), set.originPath == bodyPath { store.retire(set) }
            // Variants stored before a restart (no set made since): their records.
            let sourceKey = CacheKey.make(site: "proxy", path: key)
            for coding in ContentCoding.allCases {
                let k = VariantRecord.key(sourceKey: sourceKey, coding: coding)
                if let r = try? store.persistence.entry(key: k), let rec = VariantRecord(r), rec.sourcePath == bodyPath {
                    store.forget(key: k, bodyPath: rec.bodyPath)
                }
            }
        }
    }

    /// The best encoded body `requestHeaders` accept for the stored response
    /// `key` (its body file, mapping and version), or nil: identity (nothing
    /// acceptable, or not ready yet: then its compression starts). `makeHead`
    /// builds a variant's head from its coding and ETag, once per variant.
    public func encoded(key: String, bodyPath: String, mapping: MappedFile, size: Int, storedAtNanos: Int64, contentType: String,
                        etag: String?, requestHeaders: HTTPHeaders,
                        makeHead: @escaping @Sendable (_ coding: String, _ etag: String) -> [UInt8]?) -> Encoded? {
        let choice = service.negotiate(requestHeaders)
        guard !choice.order.isEmpty else { return nil }
        // A synthetic version: the body file is never rewritten in place (no stat per hit).
        let version = FileIdentity(device: 0, inode: CacheKey.hash(site: "", path: bodyPath), size: size, mtimeNanos: storedAtNanos,
                                   isRegular: true, isDirectory: false)
        let base = etag ?? "\"\(String(version.inode, radix: 16))-\(String(UInt64(bitPattern: storedAtNanos), radix: 16))\""
        let file = SourcedFile(identity: version, contentType: contentType, etag: base, body: .mapped(mapping))
        let (set, retired) = service.table.set(site: "proxy", path: key, file: file, originPath: bodyPath, codings: service.offered.count,
                                               makeHead: { makeHead($0.token, $1) }, immutableSource: true)
        if let retired { service.compressor.submit(.retire(retired)) }
        var st = set.state.withLock { $0 }
        guard let v = service.stored(set, &st, choice, body: .mapped(mapping), size: size) else { return nil }
        service.countServed(v, identitySize: size)
        return Encoded(coding: v.coding.token, body: v.body, size: v.size, etag: v.etag, head: v.head)
    }
}
