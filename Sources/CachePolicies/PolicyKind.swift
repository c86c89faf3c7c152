/// The eviction policies by name, as configured and as given to `simulate`.
public enum PolicyKind: String, CaseIterable, Sendable {
    case lru, lfu, sieve, s3fifo, wtinylfu
    /// W-TinyLFU with its window fixed at 1% of the capacity (no adaptation).
    case wtinylfuFixed = "wtinylfu-fixed"
    /// Serves with W-TinyLFU or S3-FIFO, whichever shadows on sampled keys say hits more.
    case dueling
    /// W-TinyLFU as libCacheSim runs it: a 30% window, a segmented main with a
    /// capped probation segment, one-victim admission (see `SegmentedTinyLFUPolicy`).
    case segmentedTinyLFU = "segmented-tinylfu"
    /// A duel of S3-FIFO (serving first), W-TinyLFU and W-TinyLFU with a
    /// fixed window (see Tools/hitratio/results).
    case duelingS3FIFO = "dueling-s3fifo"
    /// `dueling-s3fifo` with `segmented-tinylfu` as a fourth candidate, and a
    /// switch only on a lead of two standard deviations (see Tools/hitratio/results).
    case duelingSegmented = "dueling-segmented"
    /// The candidates of `dueling-segmented` with W-TinyLFU serving first:
    /// until the shadows have shown a lead of two standard deviations (two
    /// epochs at least) it behaves as plain W-TinyLFU, the default before it.
    case duelingWTinyLFUFirst = "dueling-wtinylfu-first"
    /// `dueling-wtinylfu-first` whose switch in a cache of up to about 2,000
    /// entries (full-size shadows, from the first eviction, seeded with the
    /// requests recorded before it) hands the new candidate its shadow's
    /// state instead of a cold start (see `DuelingPolicy.promotesShadows`
    /// and `firstRequests`).
    case duelingPromoted = "dueling-promoted"
    /// The policy chosen by measured hit ratio (see Tools/hitratio): `dueling-promoted`.
    case `default`

    /// What `default` stands for.
    public var resolved: PolicyKind { self == .default ? .duelingPromoted : self }
}

/// A new, empty policy of `kind` holding at most `capacity` units.
public func makePolicy(_ kind: PolicyKind, capacity: Int) -> any EvictionPolicy {
    switch kind.resolved {
    case .lru: return LRUPolicy(capacity: capacity)
    case .lfu: return LFUPolicy(capacity: capacity, aging: .never)
    case .sieve: return SievePolicy(capacity: capacity)
    case .s3fifo: return S3FIFOPolicy(capacity: capacity)
    case .wtinylfu: return WTinyLFUPolicy(capacity: capacity)
    case .wtinylfuFixed: return WTinyLFUPolicy(capacity: capacity, configuration: .fixedWindow)
    case .segmentedTinyLFU: return SegmentedTinyLFUPolicy(capacity: capacity)
    case .dueling: return DuelingPolicy(capacity: capacity)
    case .duelingS3FIFO: return DuelingPolicy(capacity: capacity, candidates: [.s3fifo, .wtinylfu, .wtinylfuFixed])
    case .duelingSegmented:
        return DuelingPolicy(capacity: capacity, candidates: [.s3fifo, .segmentedTinyLFU, .wtinylfu, .wtinylfuFixed],
                             confidence: DuelingPolicy.significantLead)
    case .duelingWTinyLFUFirst, .duelingPromoted, .default:
        return DuelingPolicy(capacity: capacity, candidates: [.wtinylfu, .s3fifo, .segmentedTinyLFU, .wtinylfuFixed],
                             confidence: DuelingPolicy.significantLead, promotesShadows: kind.resolved == .duelingPromoted)
    }
}
