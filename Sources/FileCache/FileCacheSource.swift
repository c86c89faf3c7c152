import CapuchinServer
import CapuchinSystem

/// The file cache beneath the static handler (as nginx's open_file_cache and
/// h2o's filecache): a hit is the entry's mapping or snapshot and its prebuilt
/// head, found with one lookup; a miss opens the file once through the direct
/// opener, offers that open file to the cache, and is served from the one
/// copy or mapping admission made of it. Marks responses HIT, MISS or BYPASS
/// (config `x_cache_header`).
public final class FileCacheSource: FileSource {
    public let cache: FileCache
    let direct: DirectFileSource

    public init(cache: FileCache, direct: DirectFileSource = DirectFileSource()) {
        self.cache = cache
        self.direct = direct
    }

    public var marksResponses: Bool { cache.config.xCacheHeader }

    public func servedHit(bytes: Int, workerID: Int) { cache.countServed(bytes: bytes, worker: workerID) }

    public func open(_ request: FileRequest) -> FileLookup {
        request.withSite { open(request, site: $0) }
    }

    @inline(__always)
    private func open(_ request: FileRequest, site siteConfig: Site) -> FileLookup {
        let site = siteConfig.cacheName
        guard cache.config.enabled else { return openUncached(request, site: site, mark: .bypass) }
        // An entry from another document root (the site's root changed on reload) is a miss;
        // the admission that follows replaces it.
        // The origin path, entity tag and head are derived, not kept (see
        // CacheEntry): once for each hot entry and worker (`RecentHeads`).
        // The entry is its own body (mapped by `lookup`).
        if let entry = cache.lookup(site: site, path: request.path, worker: request.workerID, receivedBy: request.receivedByNanos) {
            let metadata = cache.recentHeads.hit(of: entry, rule: request.varyRule, worker: request.workerID)
            if let origin = metadata.originPath, Self.isInside(origin, root: siteConfig.root) {
                return FileLookup(.file(SourcedFile(metadata: metadata, body: .mapped(entry))), mark: .hit)
            }
        }
        return openUncached(request, site: site, mark: .miss)
    }

    /// Opens the file with the direct opener and offers it for admission; the
    /// response is served from what admission read (a rejected or failed
    /// admission read nothing: see `uncachedBody`). A rule's rejection marks BYPASS.
    private func openUncached(_ request: FileRequest, site: String, mark base: CacheMark) -> FileLookup {
        let file: OpenFile, identity: FileIdentity, relativePath: String
        switch direct.resolve(request) {
        case .failure(let status): return FileLookup(.failure(status: status), mark: base)
        case .redirect: return FileLookup(.redirect, mark: base)
        case .file(let f, let id, let rel): (file, identity, relativePath) = (f, id, rel)
        }
        let root = request.site.root
        let candidate = CandidateFile(path: root.hasSuffix("/") ? root + relativePath : root + "/" + relativePath,
                                      file: file, identity: identity,
                                      contentType: request.settings.contentType(forPath: relativePath),
                                      etag: StaticFilePlugin.etag(identity))
        let admission = cache.admit(site: site, path: request.path, file: candidate, worker: request.workerID,
                                    observedSince: request.receivedByNanos == .max ? 0 : request.receivedByNanos)
        var outcome = base
        if case .rejected = admission.outcome { outcome = .bypass }
        let body = admission.body.map(FileBody.mapped)
            ?? uncachedBody(candidate, sendfileThreshold: request.settings.config.sendfileThreshold)
        return FileLookup(.file(SourcedFile(identity: identity, contentType: candidate.contentType, etag: candidate.etag, body: body,
                                            originPath: candidate.path,
                                            variesByEncoding: request.varies(contentType: candidate.contentType, size: identity.size))),
                          mark: outcome)
    }

    /// The body of a file the cache does not hold. Up to `max_file_size`, a
    /// file larger than the sendfile threshold is sent from a mapping (copied
    /// into the socket by writev) instead of by sendfile: the pages sendfile
    /// queues stay shared with the file, so a truncation after the call would
    /// still change the bytes a client reads (a 200 with wrong bytes), while a
    /// mapped send stops once the version changed. Smaller files are read behind
    /// the head; larger ones keep sendfile, as in nginx.
    private func uncachedBody(_ c: CandidateFile, sendfileThreshold: Int) -> FileBody {
        guard c.identity.size > sendfileThreshold, c.identity.size <= cache.config.maxFileSize,
              let m = try? MappedFile(fd: c.file.fd, count: c.identity.size, source: (c.path, c.identity)) else { return .file(c.file) }
        return .mapped(m)
    }

    /// `path` lies under the directory `root`: a byte comparison (String's
    /// `hasPrefix` and `starts(with:)` cost 2% of a hit in grapheme checks).
    static func isInside(_ path: String, root: String) -> Bool {
        withUTF8Bytes(path) { p in
            withUTF8Bytes(root) { r in
                guard p.count >= r.count, r.count > 0, memoryEqual(p.baseAddress!, r.baseAddress!, count: r.count) else { return false }
                return p.count == r.count || r[r.count - 1] == UInt8(ascii: "/") || p[r.count] == UInt8(ascii: "/")
            }
        }
    }
}
