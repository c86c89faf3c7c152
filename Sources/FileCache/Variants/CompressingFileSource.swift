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
    public let config: CompressionConfig
    /// The offered codings' tokens, in the config's order (negotiation indices).
    let offered: [String]
    let table: VariantTable
    let store: VariantStore?
    let compressor: VariantCompressor
    let counters = CompressionCounters()
    /// Siblings are looked for again at most this often per file.
    let siblingRecheckNanos: UInt64
    private let compressibleTypes = NegotiationMemo<Bool>()
    private let choices = NegotiationMemo<AcceptEncoding.Choice>()

    init(inner: any FileSource, config: CompressionConfig, store: VariantStore?, capacity: Int, log: @escaping (String) -> Void,
         siblingRecheckNanos: UInt64 = 1_000_000_000) throws {
        self.inner = inner
        self.config = config
        offered = config.codings.map(\.token)
        table = VariantTable(capacity: capacity, budget: config.maxMemory)
        self.store = config.onTheFly ? store : nil
        compressor = try VariantCompressor(store: self.store, counters: counters, log: log)
        self.siblingRecheckNanos = siblingRecheckNanos
    }

    public var marksResponses: Bool { inner.marksResponses }
    public func servedHit(bytes: Int, workerID: Int) { inner.servedHit(bytes: bytes, workerID: workerID) }

    /// This run's counters.
    public var stats: CompressionStats { counters.snapshot }

    public func open(_ request: FileRequest) -> FileLookup {
        let lookup = inner.open(request)
        guard case .file(var file) = lookup.outcome else {
            if case .failure(let status) = lookup.outcome, status == 404,
               let gone = table.remove(site: request.site.names.first ?? "", path: request.path) {
                compressor.submit(.retire(gone))
            }
            return lookup
        }
        guard config.enabled, file.size >= config.minSize, file.size <= config.maxSize, let originPath = file.originPath,
              compressibleTypes.value(for: file.contentType, config.compresses(contentType:)) else { return lookup }
        file.variesByEncoding = true
        let (set, retired) = table.set(site: request.site.names.first ?? "", path: request.path, file: file, originPath: originPath,
                                       codings: offered.count)
        if let retired { compressor.submit(.retire(retired)) }
        let choice = Self.forbidsTransform(request.headers) ? .identityOnly : negotiate(request.headers)
        if !choice.order.isEmpty, let v = pick(set, choice, file: file, request: request) {
            counters.bytesSaved.wrappingAdd(UInt64(max(0, file.size - v.size)), ordering: .relaxed)
            if v.isSibling { counters.siblingHits.wrappingAdd(1, ordering: .relaxed) } else {
                counters.variantHits.wrappingAdd(1, ordering: .relaxed)
            }
            file.size = v.size
            file.body = v.body
            file.etag = v.etag
            file.head = v.head
            file.contentEncoding = v.coding.token
            return FileLookup(.file(file), mark: lookup.mark == nil ? nil : .hit)
        }
        if let head = file.head { file.head = identityHead(set, head) }
        return FileLookup(.file(file), mark: lookup.mark)
    }

    /// The codings `headers` accept, best first; one field's value is parsed once per distinct value.
    private func negotiate(_ headers: HTTPHeaders) -> AcceptEncoding.Choice {
        var value: String?
        for f in headers.fields where f.name.caseInsensitiveEquals("Accept-Encoding") {
            // Several fields are one list: rare, parsed each time.
            if value != nil { return AcceptEncoding.negotiate(headers, offered: offered) }
            value = f.value
        }
        guard let value else { return .identityOnly }
        return choices.value(for: value) { AcceptEncoding.negotiate($0, offered: offered) }
    }

    /// The cached identity head with `Vary`, built once per version.
    private func identityHead(_ set: VariantSet, _ head: [UInt8]) -> [UInt8] {
        if let h = set.state.withLock({ $0.identityHead }) { return h }
        var h = head
        Variant.appendVary(coding: nil, to: &h)
        set.state.withLock { $0.identityHead = h }
        return h
    }

    /// `Cache-Control: no-transform` in the request: the body goes as it is.
    static func forbidsTransform(_ headers: HTTPHeaders) -> Bool {
        for f in headers.fields where f.name.caseInsensitiveEquals("Cache-Control") {
            if f.value.lowercased().contains("no-transform") { return true }
        }
        return false
    }

    /// The best acceptable encoded body ready now, siblings first; starts the
    /// compression of the client's best coding when it has no variant yet.
    private func pick(_ set: VariantSet, _ choice: AcceptEncoding.Choice, file: SourcedFile, request: FileRequest) -> Variant? {
        var st = set.state.withLock { $0 }
        if config.precompressed {
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
        guard let store else { return nil }
        var ready: Variant?
        for i in choice.order {
            if case .unknown = st.stored[i] {
                // Once per set and coding: after a restart the variant is in the store.
                let loaded = store.load(set, config.codings[i])
                set.update { s in
                    if case .unknown = s.stored[i] { s.stored[i] = loaded.map(VariantSet.Slot.ready) ?? .absent }
                    st.stored[i] = s.stored[i]
                }
            }
            if case .ready(let v) = st.stored[i] {
                ready = v
                break
            }
        }
        let best = choice.order[0]
        if case .ready = st.stored[best] { return ready }
        guard set.claim(best) else { return ready }
        let coding = config.codings[best]
        let level = config.levels[coding] ?? coding.defaultLevel
        // Small bodies (or a client refusing identity with nothing ready) are compressed for this request.
        if file.size <= config.inlineMaxSize || (ready == nil && !choice.identityAcceptable) {
            guard let bytes = try? VariantCompressor.encode(file.body, size: file.size, coding: coding, level: level,
                                                            counters: counters, inline: true),
                  bytes.count < file.size else {
                counters.refused.wrappingAdd(1, ordering: .relaxed)
                set.settle(best, .refused)
                return ready
            }
            guard let v = store.variant(set, coding, body: .bytes(bytes), size: bytes.count, bodyPath: nil, bodyIdentity: nil) else {
                set.settle(best, .refused)
                return ready
            }
            // Served from memory until the compression thread has written and indexed it.
            set.settle(best, .ready(v))
            if !compressor.submit(.store(set, slot: best, coding, bytes)) { set.settle(best, .absent) }
            return v
        }
        if !compressor.submit(.compress(set, slot: best, coding, level: level, file.body)) { set.settle(best, .absent) }
        return ready
    }

    /// The siblings of the file, beneath the site's root as the file was
    /// opened: kept when not older than the file (a stale `.gz` is ignored, as
    /// nginx's gzip_static does not check and h2o does not either; here it is).
    private func findSiblings(_ set: VariantSet, request: FileRequest, previous: [Variant?]) -> [Variant?] {
        var out = [Variant?](repeating: nil, count: offered.count)
        let root = request.site.root
        guard let handle = request.site.rootHandle, FileCacheSource.isInside(set.originPath, root: root) else { return out }
        var relative = String(set.originPath.dropFirst(root.count))
        if !relative.hasPrefix("/") { relative = "/" + relative }
        for (i, coding) in config.codings.enumerated() {
            guard case .file(let f, let id, _) = StaticPathMapper.resolve(relative + coding.fileExtension, site: request.site, root: handle),
                  id.isRegular, id.mtimeNanos >= set.source.mtimeNanos, id.size > 0 else { continue }
            if let p = previous[i], let pid = p.fileIdentity, pid.sameVersion(as: id) {
                out[i] = p
                continue
            }
            let path = set.originPath + coding.fileExtension
            guard let mapping = try? FileCache.body(of: f, identity: id, path: path) else { continue }
            let etag = Variant.etag(base: StaticFilePlugin.etag(id), coding: coding)
            guard let head = Variant.head(contentType: set.contentType, etag: etag, mtimeNanos: set.source.mtimeNanos,
                                          coding: coding, mark: inner.marksResponses) else { continue }
            out[i] = Variant(coding: coding, body: .mapped(mapping), size: id.size, etag: etag, head: head, isSibling: true,
                             fileIdentity: id, filePath: path)
        }
        return out
    }

    /// Starts the compression thread and, with a store, the sweep of stale variants. Throws `SystemError`.
    func start() throws {
        try compressor.start()
        if store != nil { compressor.submit(.sweep) }
    }

    func stop() { compressor.stop() }
}
