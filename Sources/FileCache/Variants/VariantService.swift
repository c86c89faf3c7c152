import CapuchinServer
import CapuchinSystem
import Compression
import HTTPCore

/// What the file source and the proxy's response compressor share: the
/// configuration, the table of variant sets, the store, the compression
/// thread and the counters; negotiation, and the choice among stored variants
/// with the compression of a missing one.
final class VariantService: EncodingVaryRule, @unchecked Sendable { // safe: lets of thread-safe objects
    let config: CompressionConfig
    /// The offered codings' tokens, in the config's order (negotiation indices).
    let offered: [String]
    let table: VariantTable
    let store: VariantStore?
    let compressor: VariantCompressor
    let counters: CompressionCounters
    /// The variants last served per worker (see `RecentVariants`).
    let recent = RecentVariants()
    private let compressibleTypes = NegotiationMemo<Bool>()
    private let choices = NegotiationMemo<AcceptEncoding.Choice>()

    /// Throws `SystemError` (the compression thread's eventfd).
    init(config: CompressionConfig, store: VariantStore?, capacity: Int, log: @escaping (String) -> Void) throws {
        self.config = config
        offered = config.codings.map(\.token)
        table = VariantTable(capacity: capacity, budget: config.maxMemory)
        self.store = config.onTheFly ? store : nil
        counters = CompressionCounters(persistence: store?.persistence)
        do { try counters.loadTotals() } catch { log("compression: cannot read the stored counters: \(error)") }
        // The cache's store closes before this plugin stops: the last deltas go first.
        if let p = store?.persistence as? StorePersistence { p.beforeClose { [counters] in counters.persist(force: true) } }
        compressor = try VariantCompressor(store: self.store, counters: counters, log: log)
    }

    /// Whether a body of this type and size is compressed (memoized per type;
    /// `worker`: the calling worker's own memo).
    func compresses(contentType: String, size: Int, worker: Int = -1) -> Bool {
        config.enabled && size >= config.minSize && size <= config.maxSize
            && compressibleTypes.value(for: contentType, worker: worker) { self.config.compresses(contentType: $0) }
    }

    /// Every response of a compressible file varies by `Accept-Encoding`.
    func varies(contentType: String, size: Int, workerID: Int) -> Bool {
        compresses(contentType: contentType, size: size, worker: workerID)
    }

    /// The codings `headers` accept, best first (identity only with `no-transform`);
    /// one field's value is parsed once per distinct value.
    func negotiate(_ headers: HTTPHeaders, worker: Int = -1) -> AcceptEncoding.Choice {
        var found = -1
        let fields = headers.fields
        // By index and by length first: iterating copied each field's two
        // strings (retained and released), and most fields are neither name.
        for i in fields.indices {
            switch fields[i].name.utf8.count {
            case 13:
                if fields[i].name.caseInsensitiveEquals("Cache-Control"), FieldSyntax.hasListElement(fields[i].value, named: "no-transform") {
                    return .identityOnly
                }
            case 15:
                guard fields[i].name.caseInsensitiveEquals("Accept-Encoding") else { continue }
                // Several fields are one list: rare, parsed each time.
                if found >= 0 { return Self.forbidsTransform(headers) ? .identityOnly : AcceptEncoding.negotiate(headers, offered: offered) }
                found = i
            default:
                continue
            }
        }
        guard found >= 0 else { return .identityOnly }
        return choices.value(for: fields[found].value, worker: worker) { AcceptEncoding.negotiate($0, offered: offered) }
    }

    /// `Cache-Control: no-transform` among `headers`.
    static func forbidsTransform(_ headers: HTTPHeaders) -> Bool {
        for f in headers.fields where f.name.caseInsensitiveEquals("Cache-Control") {
            if FieldSyntax.hasListElement(f.value, named: "no-transform") { return true }
        }
        return false
    }

    /// The best acceptable stored variant ready now (`st` is the set's state,
    /// updated with what the store had); starts compressing the client's best
    /// coding when it has none: inline for a small body or a client refusing
    /// identity, else on the compression thread.
    func stored(_ set: VariantSet, _ st: inout VariantSet.State, _ choice: AcceptEncoding.Choice, body: FileBody, size: Int) -> Variant? {
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
        if size <= config.inlineMaxSize || (ready == nil && !choice.identityAcceptable) {
            let level = config.level(coding, inline: true)
            guard let bytes = try? VariantCompressor.encode(body, size: size, coding: coding, level: level, counters: counters, inline: true),
                  bytes.count < size,
                  let v = store.variant(set, coding, body: .bytes(bytes), size: bytes.count, bodyPath: nil, bodyIdentity: nil) else {
                counters.refused.wrappingAdd(1, ordering: .relaxed)
                set.settle(best, .refused)
                return ready
            }
            // Served from memory until the compression thread has written and indexed it.
            set.settle(best, .ready(v))
            if !compressor.submit(.store(set, slot: best, coding, bytes)) { set.settle(best, .absent) }
            return v
        }
        if !compressor.submit(.compress(set, slot: best, coding, level: config.level(coding, inline: false), body)) {
            set.settle(best, .absent)
        }
        return ready
    }

    /// Counts an encoded response of `size` bytes for an identity of `identitySize`.
    func countServed(_ v: Variant, identitySize: Int, worker: Int = -1) {
        counters.served(sibling: v.isSibling, savedBytes: identitySize - v.size, worker: worker)
    }

    /// Starts the compression thread and, with a store of files, the sweep of stale variants. Throws `SystemError`.
    func start(sweep: Bool) throws {
        try compressor.start()
        if sweep && store != nil { compressor.submit(.sweep) }
    }

    func stop() {
        compressor.stop()
        counters.persist(force: true)
    }
}
