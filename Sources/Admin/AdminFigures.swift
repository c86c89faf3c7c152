import CapuchinTLS

/// Cache counters as the admin API reports them: totals since the store was
/// created (persisted across restarts) for counters, current values for gauges.
public struct CacheFigures: Sendable, Equatable {
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var bytesServedFromCache: UInt64 = 0
    public var evictions: UInt64 = 0
    public var admissions: UInt64 = 0
    public var rejectionsByRule: UInt64 = 0
    public var revalidations: UInt64 = 0
    public var staleDrops: UInt64 = 0
    public var entries: Int = 0
    public var bytesHeld: Int = 0
    public var capacityBytes: Int = 0
    public var capacityEntries: Int = 0
    /// The small bodies' slabs: bytes mapped, in slots in use, and asked for
    /// (mapped minus requested is the size classes' rounding and partly used pages).
    public var slabBytesMapped: Int = 0
    public var slabBytesInSlots: Int = 0
    public var slabBytesRequested: Int = 0

    public init() {}
}

/// What compression did this run (the `compression` plugin's counters).
public struct CompressionFigures: Sendable, Equatable {
    public var variantsStored: UInt64 = 0
    public var bytesBefore: UInt64 = 0
    public var bytesAfter: UInt64 = 0
    public var compressions: UInt64 = 0
    public var compressionCPUSeconds: Double = 0
    public var variantHits: UInt64 = 0
    public var siblingHits: UInt64 = 0
    public var bytesSaved: UInt64 = 0

    public init() {}
}

/// Server-wide figures (the workers' counters, summed).
public struct ServerFigures: Sendable, Equatable {
    public var requests: UInt64 = 0
    public var bytesServed: UInt64 = 0
    public var connectionsPerWorker: [Int] = []
    /// TLS handshakes of every TLS listener; nil when the server has none.
    public var tls: TLSCounters.Snapshot?
    /// The proxy's handshakes with HTTPS origins; nil when it made none.
    public var upstreamTLS: TLSCounters.Snapshot?

    public init() {}
}

/// One proxy backend's state: passive marking, active health checks, load.
public struct BackendFigures: Sendable, Equatable {
    public var pool: String
    public var backend: String
    /// Picked for new requests now (not marked down, health checks passing).
    public var up: Bool
    /// The active health checks' verdict; nil when the pool has none.
    public var healthy: Bool?
    /// Seconds until a passive mark ends (0 when not marked down).
    public var downForSeconds: Double
    public var inFlight: Int
    public var checksPassed: Int
    public var checksFailed: Int

    public init(pool: String, backend: String, up: Bool, healthy: Bool?, downForSeconds: Double, inFlight: Int,
                checksPassed: Int, checksFailed: Int) {
        self.pool = pool
        self.backend = backend
        self.up = up
        self.healthy = healthy
        self.downForSeconds = downForSeconds
        self.inFlight = inFlight
        self.checksPassed = checksPassed
        self.checksFailed = checksFailed
    }
}

/// The persistent store's state.
public struct StoreFigures: Sendable, Equatable {
    public var entries: Int = 0
    public var mapSizeBytes: Int = 0
    public var mapUsedBytes: Int = 0
    /// Wall-clock nanoseconds of the last commit, 0 if none yet.
    public var lastCommitNanos: Int64 = 0
    public var schemaVersion: Int = 0

    public init() {}
}

/// One cache entry as the entries API lists it.
public struct EntryRow: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var hits: UInt64
    public var insertedMillis: Int64
    public var lastAccessMillis: Int64

    public init(key: String, size: Int, hits: UInt64, insertedMillis: Int64, lastAccessMillis: Int64) {
        self.key = key
        self.size = size
        self.hits = hits
        self.insertedMillis = insertedMillis
        self.lastAccessMillis = lastAccessMillis
    }
}

/// How the entries API sorts.
public enum EntrySort: String, Sendable, CaseIterable {
    case hits, size, age, recent, key
}
