import CapuchinServer
import CapuchinSystem
import Compression
import HTTPCore

/// The file source that negotiates content codings, around the file cache's
/// source (or the direct opener when the cache is off): for a compressible
/// file it serves the best acceptable of its precompressed siblings
/// (`file.br`, `file.zst`, `file.gz`, not older than the file) or its stored
/// variants, with their own prebuilt head (one lookup, one writev, as an
/// identity hit); a missing variant is compressed once, inline for small
/// bodies, else on the compression thread while requests get identity.
/// Every response of a compressible file says `Vary: Accept-Encoding`.
public final class CompressingFileSource: FileSource {
    let inner: any FileSource
    let service: VariantService
    /// Siblings are looked for again at most this often per file.
    let siblingRecheckNanos: UInt64

    init(inner: any FileSource, config: CompressionConfig, store: VariantStore?, capacity: Int, log: @escaping (String) -> Void,
         siblingRecheckNanos: UInt64 = 1_000_000_000) throws {
        self.inner = inner
        service = try VariantService(config: config, store: store, capacity: capacity, log: log)
        self.siblingRecheckNanos = siblingRecheckNanos
    }

    public var config: CompressionConfig { service.config }
    public var marksResponses: Bool { inner.marksResponses }
    public func servedHit(bytes: Int, workerID: Int) { inner.servedHit(bytes: bytes, workerID: workerID) }

    /// This run's counters.
    public var stats: CompressionStats { service.counters.snapshot }

    /// The sources beneath build the head of a compressible file with `Vary`.
    public var varyRule: (any EncodingVaryRule)? { service }

    public func open(_ request: FileRequest) -> FileLookup {
        // The request carries `service` as its rule when this source is the
        // handler's (always, as set up); one asked directly marks it here.
        guard request.varyRule === service else {
            var marked = request
            marked.varyRule = service
            return open(marked)
        }
        // Identity only (no Accept-Encoding, or no-transform): the inner
        // source's answer as it is (a compressible file's head already says
        // Vary); the variant table is not touched, so a changed or deleted
        // file's variants are retired by the next request that could be sent one.
        let choice = service.negotiate(request.headers, worker: request.workerID)
        if choice.order.isEmpty { return inner.open(request) }
        let lookup = inner.open(request)
        if case .failure(let status) = lookup.outcome, status == 404,
           let gone = service.table.remove(site: request.site.cacheName, path: request.path) {
            service.compressor.submit(.retire(gone))
        }
        guard case .file = lookup.outcome else { return lookup }
        let mark = lookup.mark
        // The file moves out of the lookup (`consume`): binding it from a
        // lookup still alive copied it (a retain and a release of each of its
        // references) before its body and head were replaced anyway.
        switch (consume lookup).outcome {
        case .file(let file): return represent(file, mark: mark, choice: choice, request: request)
        case let other: return FileLookup(other, mark: mark)
        }
    }

    /// `file` as the best representation `choice` allows that is ready now (itself when none).
    private func represent(_ file: borrowing SourcedFile, mark: CacheMark?, choice: AcceptEncoding.Choice,
                           request: FileRequest) -> FileLookup {
        guard file.variesByEncoding, let originPath = file.originPath else { return FileLookup(.file(copy file), mark: mark) }
        let now = Clock.monotonicNanos(), choiceKey = RecentVariants.key(choice)
        if let choiceKey, let (encoded, v) = service.recent.represented(file, choice: choiceKey, worker: request.workerID, now: now) {
            service.countServed(v, identitySize: file.size, worker: request.workerID)
            return FileLookup(.file(encoded), mark: mark == nil ? nil : .hit)
        }
        let (set, retired) = service.table.set(site: request.site.cacheName, path: request.path, file: file,
                                               originPath: originPath, codings: service.offered.count)
        if let retired { service.compressor.submit(.retire(retired)) }
        guard let v = pick(set, choice, file: file, request: request) else { return FileLookup(.file(copy file), mark: mark) }
        // Only the client's first choice: a fallback served while that one is
        // compressed must give way as soon as it is ready.
        service.countServed(v, identitySize: file.size, worker: request.workerID)
        let encoded = if let choiceKey, v.coding == service.config.codings[choice.order[0]] {
            service.recent.remember(v, for: file, choice: choiceKey, worker: request.workerID, now: now)
        } else {
            SourcedFile(metadata: RecentVariants.metadata(of: v, for: file), body: v.body)
        }
        return FileLookup(.file(encoded), mark: mark == nil ? nil : .hit)
    }

    /// The best acceptable encoded body ready now: a sibling first, else a stored variant.
    private func pick(_ set: VariantSet, _ choice: AcceptEncoding.Choice, file: SourcedFile, request: FileRequest) -> Variant? {
        var st = set.state.withLock { $0 }
        if service.config.precompressed {
            let now = Clock.monotonicNanos()
            if st.siblingsCheckedAt == 0 || now &- st.siblingsCheckedAt >= siblingRecheckNanos {
                let found = findSiblings(set, request: request, previous: st.siblings)
                set.update {
                    $0.siblings = found
                    $0.siblingsCheckedAt = now
                }
                st.siblings = found
            }
            // A precompressed file is what its author wants served: preferred to compressing.
            for i in choice.order { if let v = st.siblings[i] { return v } }
        }
        return service.stored(set, &st, choice, body: file.body, size: file.size)
    }

    /// The siblings of the file, beneath the site's root as the file was
    /// opened: kept when not older than the file (a stale `.gz` is ignored, as
    /// nginx's gzip_static does not check and h2o does not either; here it is).
    private func findSiblings(_ set: VariantSet, request: FileRequest, previous: [Variant?]) -> [Variant?] {
        var out = [Variant?](repeating: nil, count: service.offered.count)
        let root = request.site.root
        guard let handle = request.site.rootHandle, FileCacheSource.isInside(set.originPath, root: root) else { return out }
        var relative = String(set.originPath.dropFirst(root.count))
        if !relative.hasPrefix("/") { relative = "/" + relative }
        for (i, coding) in service.config.codings.enumerated() {
            guard case .file(let f, let id, _) = StaticPathMapper.resolve(relative + coding.fileExtension, site: request.site, root: handle),
                  id.isRegular, id.mtimeNanos >= set.source.mtimeNanos, id.size > 0 else { continue }
            if let p = previous[i], let pid = p.fileIdentity, pid.sameVersion(as: id) {
                out[i] = p
                continue
            }
            let path = set.originPath + coding.fileExtension
            guard let mapping = try? VariantStore.body(of: f, identity: id, path: path) else { continue }
            let etag = Variant.etag(base: StaticFilePlugin.etag(id), coding: coding)
            guard let head = Variant.head(contentType: set.contentType, etag: etag, mtimeNanos: set.source.mtimeNanos,
                                          coding: coding, mark: inner.marksResponses) else { continue }
            out[i] = Variant(coding: coding, body: .mapped(mapping), size: id.size, etag: etag, head: head, isSibling: true,
                             fileIdentity: id, filePath: path)
        }
        return out
    }

    /// Starts the compression thread and the sweep of stale variants. Throws `SystemError`.
    func start() throws { try service.start(sweep: true) }

    func stop() { service.stop() }
}
