import CapuchinSystem
import HTTPCore

/// Where the static handler gets its files. The default opens them beneath the
/// site's root (`DirectFileSource`); the file cache sits here too, beneath the
/// handler, as nginx's open_file_cache and h2o's filecache do: the handler
/// answers every file response the same way and only the source knows whether
/// the bytes came from a cached entry.
/// Called on every worker thread at once: implementations are thread-safe.
public protocol FileSource: AnyObject, Sendable {
    /// The file `request.path` names in `request.site`, for a GET or HEAD.
    func open(_ request: FileRequest) -> FileLookup

    /// Whether responses carry the lookups' marks in `X-Cache` (and BYPASS
    /// for a method the source is not asked about).
    var marksResponses: Bool { get }

    /// A response carried `bytes` of a cache hit's body (not called for HEAD
    /// or an empty body), for the source's statistics.
    func servedHit(bytes: Int, workerID: Int)

    /// The rule this source serves representations by, handed to the sources
    /// beneath it in every `FileRequest` (nil: responses never vary).
    var varyRule: (any EncodingVaryRule)? { get }
}

extension FileSource {
    public var marksResponses: Bool { false }
    public func servedHit(bytes: Int, workerID: Int) {}
    public var varyRule: (any EncodingVaryRule)? { nil }
}

/// Which files' responses vary by `Accept-Encoding` (a compressing source's
/// rule). Given to the sources beneath it, so the one that finds the file
/// builds its head with `Vary` at once and a request that takes the file as
/// it is goes through the compressing source untouched (no copy of the file's
/// description, no second head).
public protocol EncodingVaryRule: AnyObject, Sendable {
    func varies(contentType: String, size: Int, workerID: Int) -> Bool
}

/// What the handler asks a source for. A struct of references: building one
/// allocates nothing, and its class references are not retained (each a
/// reference-count pair on every request): it lives only for the `open` call,
/// while the request's context holds them. A source that keeps one past the
/// call stores it in a property of its own (which retains it).
public struct FileRequest {
    // `workerID` is stored first so that the memberwise initializer (which the
    // static handler calls on every request) differs from the public one in
    // the extension below: a struct made by an explicit initializer was copied
    // and the original destroyed (a retain and a release of each field; Swift 6.3 -O).
    public var workerID: Int
    /// The parser's decoded, dot-segment-free absolute path.
    public var path: String
    public unowned(unsafe) var site: Site
    /// A precise monotonic time by which the request had been received (see
    /// `RequestContext.receivedByNanos`): the cache's revalidation rule orders
    /// its stat checks against it.
    public var receivedByNanos: UInt64
    /// The configuration the request is served under (MIME types, sendfile threshold).
    public unowned(unsafe) var settings: RuntimeSettings
    /// The request's header fields: a source negotiates a representation from
    /// them (`Accept-Encoding`, `Cache-Control: no-transform`).
    public var headers: HTTPHeaders
    /// The rule of the compressing source above (`FileSource.varyRule`): a
    /// source sets `SourcedFile.variesByEncoding` (and the head's `Vary`) by it.
    public unowned(unsafe) var varyRule: (any EncodingVaryRule)?

    /// Calls `body` with the site, not retained (each use of `site` retains it).
    @inline(__always)
    public func withSite<R>(_ body: (Site) -> R) -> R { Unmanaged.passUnretained(site)._withUnsafeGuaranteedRef(body) }

    /// Whether the rule says `file`'s responses vary by encoding.
    @inline(__always)
    public func varies(contentType: String, size: Int) -> Bool {
        varyRule?.varies(contentType: contentType, size: size, workerID: workerID) ?? false
    }
}

extension FileRequest {
    public init(path: String, site: Site, receivedByNanos: UInt64, workerID: Int, settings: RuntimeSettings,
                headers: HTTPHeaders = HTTPHeaders(), varyRule: (any EncodingVaryRule)? = nil) {
        self.init(workerID: workerID, path: path, site: site, receivedByNanos: receivedByNanos, settings: settings,
                  headers: headers, varyRule: varyRule)
    }
}

/// The `X-Cache` value of a response served through a caching source.
public enum CacheMark: String, Sendable {
    case hit = "HIT", miss = "MISS", bypass = "BYPASS"

    /// The same verdict as a `Cache-Status` member (RFC 9211).
    public var cacheStatus: String {
        switch self {
        case .hit: return CacheStatus.hit
        case .miss: return CacheStatus.forwarded(.uriMiss, status: nil)
        case .bypass: return CacheStatus.forwarded(.bypass, status: nil)
        }
    }
}

/// A file's body as the source holds it; the handler slices it for ranges.
public enum FileBody {
    /// A mapping or private snapshot (a cached file): written with writev
    /// straight from memory. A later change to the file cannot show through a
    /// snapshot, and a send of a mapping stops once the file's version changed.
    case mapped(MappedFile)
    /// An open file: small slices are read behind the head, larger ones sendfile'd.
    case file(OpenFile)
    /// Bytes in memory (a small body compressed for this request, not yet stored).
    case bytes([UInt8])

    /// The bytes `offset..<offset+count` as a response body.
    @inline(__always)
    public func slice(offset: Int, count: Int) -> ResponseBody {
        switch self {
        case .mapped(let m): return count > 0 ? .mapped(m, offset: offset, count: count) : .empty
        case .file(let f): return .file(f, offset: offset, count: count)
        case .bytes(let b): return count > 0 ? .bytes(offset == 0 && count == b.count ? b : Array(b[offset..<offset + count])) : .empty
        }
    }
}

/// What a response says about a file, its body aside: immutable and shared.
/// A cache keeps one per hot entry and worker (`RecentHeads`), so a hit hands
/// the handler one reference instead of a struct of eight (each copy of which
/// cost a retain and a release of every string and array in it, and a memcpy
/// of ~150 bytes at each step from the cache to the handler).
public final class FileMetadata: Sendable {
    /// The file's identity (of the file the path names, also for an encoded variant of it).
    public let identity: FileIdentity
    /// The length of the body: the file's size, or the encoded length of a variant.
    public let size: Int
    /// Where the file is (nil: the source does not say).
    public let originPath: String?
    /// The body's content coding (`br`, `zstd`, `gzip`); nil: identity.
    public let contentEncoding: String?
    /// The response depends on `Accept-Encoding` (a compressible file): every
    /// response of it, identity and 304 too, says `Vary: Accept-Encoding`.
    public let variesByEncoding: Bool
    public let contentType: String
    /// A strong entity tag, quotes included (`StaticFilePlugin.etag`).
    public let etag: String
    /// The header lines of a plain 200 ("Content-Type", "ETag", "Last-Modified",
    /// "Accept-Ranges", the mark, and "Content-Encoding" and "Vary" as above), serialized once per cached entry so a hit
    /// builds nothing; nil: the handler builds the head.
    public let head: [UInt8]?
    /// The lines of a 304 of it (`head` less the body's fields), made with the
    /// head: a browser's revalidation of a hot file builds nothing either.
    public let notModifiedHead: [UInt8]?

    public init(identity: FileIdentity, size: Int, originPath: String?, contentEncoding: String?, variesByEncoding: Bool,
                contentType: String, etag: String, head: [UInt8]?) {
        self.identity = identity
        self.size = size
        self.originPath = originPath
        self.contentEncoding = contentEncoding
        self.variesByEncoding = variesByEncoding
        self.contentType = contentType
        self.etag = etag
        self.head = head
        notModifiedHead = head.map(NotModifiedHead.lines(from:))
    }

    /// The same file as an encoded representation: its own length, tag, head and coding.
    public func encoded(as coding: String, size: Int, etag: String, head: [UInt8]) -> FileMetadata {
        FileMetadata(identity: identity, size: size, originPath: originPath, contentEncoding: coding,
                     variesByEncoding: variesByEncoding, contentType: contentType, etag: etag, head: head)
    }
}

/// An open regular file and what its response needs: two references.
public struct SourcedFile {
    public var metadata: FileMetadata
    public var body: FileBody

    public init(metadata: FileMetadata, body: FileBody) {
        self.metadata = metadata
        self.body = body
    }

    @inline(__always) public var identity: FileIdentity { metadata.identity }
    @inline(__always) public var size: Int { metadata.size }
    @inline(__always) public var originPath: String? { metadata.originPath }
    @inline(__always) public var contentEncoding: String? { metadata.contentEncoding }
    @inline(__always) public var variesByEncoding: Bool { metadata.variesByEncoding }
    @inline(__always) public var contentType: String { metadata.contentType }
    @inline(__always) public var etag: String { metadata.etag }
    @inline(__always) public var head: [UInt8]? { metadata.head }
    @inline(__always) public var notModifiedHead: [UInt8]? { metadata.notModifiedHead }
}

// The public initializers of these structs delegate to the memberwise ones:
// one that set the fields itself had its result copied (a retain and a
// release of each field) and the original destroyed, on every hit (Swift 6.3 -O).
extension SourcedFile {
    public init(identity: FileIdentity, contentType: String, etag: String, body: FileBody, head: [UInt8]? = nil,
                originPath: String? = nil, variesByEncoding: Bool = false) {
        self.init(metadata: FileMetadata(identity: identity, size: identity.size, originPath: originPath, contentEncoding: nil,
                                         variesByEncoding: variesByEncoding, contentType: contentType, etag: etag, head: head),
                  body: body)
    }
}

/// How a source answered, and whether the answer came from a cache.
public struct FileLookup {
    public enum Outcome {
        case file(SourcedFile)
        /// A directory requested without its trailing slash.
        case redirect
        case failure(status: Int)
    }

    public var outcome: Outcome
    /// What a caching source did (nil: not a caching source).
    public var mark: CacheMark?
}

extension FileLookup {
    public init(_ outcome: Outcome, mark: CacheMark? = nil) { self.init(outcome: outcome, mark: mark) }
}
