import CapuchinTLS
import Foundation

/// The body of `GET /api/stats`. Field names are part of the documented API
/// (README, "Admin API"): add fields, never rename them.
struct StatsDocument: Encodable {
    struct Cache: Encodable {
        var hits: UInt64
        var misses: UInt64
        var hit_ratio: Double
        var byte_hit_ratio: Double
        var bytes_served_from_cache: UInt64
        var entries: Int
        var bytes_held: Int
        var capacity_bytes: Int
        var capacity_entries: Int
        var evictions: UInt64
        var admissions: UInt64
        var rejections_by_rule: UInt64
        var revalidations: UInt64
        var stale_drops: UInt64
        var slab_bytes_mapped: Int
        var slab_bytes_in_slots: Int
        var slab_bytes_requested: Int
    }

    struct Store: Encodable {
        var entries: Int
        var map_size_bytes: Int
        var map_used_bytes: Int
        var last_commit_unix_seconds: Double?
        var last_commit_age_seconds: Double?
        var schema_version: Int
    }

    struct Backend: Encodable {
        var pool: String
        var backend: String
        var up: Bool
        var healthy: Bool?
        var down_for_seconds: Double
        var in_flight: Int
        var checks_passed: Int
        var checks_failed: Int
    }

    struct Compression: Encodable {
        var variants_stored: UInt64
        var bytes_before: UInt64
        var bytes_after: UInt64
        var compressions: UInt64
        var compression_cpu_seconds: Double
        var variant_hits: UInt64
        var sibling_hits: UInt64
        var bytes_saved: UInt64
    }

    struct TLS: Encodable {
        var handshakes: Int
        var resumed_handshakes: Int
        var handshake_failures: Int
        var failures_by_reason: [String: Int]
        var handshakes_by_protocol: [String: Int]
        var handshakes_by_cipher: [String: Int]
    }

    var uptime_seconds: Double
    var requests: UInt64
    var requests_per_second_1s: Double
    var requests_per_second_1m: Double
    var bytes_served: UInt64
    var connections_per_worker: [Int]
    var cache: Cache?
    var store: Store?
    /// The proxy's backends (empty without a proxy).
    var backends: [Backend]
    /// This run's compression counters (absent without the compression plugin).
    var compression: Compression?
    /// nil without a TLS listener.
    var tls: TLS?
    /// The proxy's handshakes with HTTPS origins (resumed: a session of the origin's reused); nil before the first.
    var upstream_tls: TLS?

    init(uptime: Double, server: ServerFigures, rate1s: Double, rate1m: Double,
         cache c: CacheFigures?, store s: StoreFigures?, backends: [BackendFigures] = [],
         compression z: CompressionFigures? = nil, nowUnixNanos: Int64) {
        compression = z.map {
            Compression(variants_stored: $0.variantsStored, bytes_before: $0.bytesBefore, bytes_after: $0.bytesAfter,
                        compressions: $0.compressions, compression_cpu_seconds: $0.compressionCPUSeconds,
                        variant_hits: $0.variantHits, sibling_hits: $0.siblingHits, bytes_saved: $0.bytesSaved)
        }
        self.backends = backends.map {
            Backend(pool: $0.pool, backend: $0.backend, up: $0.up, healthy: $0.healthy, down_for_seconds: $0.downForSeconds,
                    in_flight: $0.inFlight, checks_passed: $0.checksPassed, checks_failed: $0.checksFailed)
        }
        uptime_seconds = uptime
        requests = server.requests
        requests_per_second_1s = rate1s
        requests_per_second_1m = rate1m
        bytes_served = server.bytesServed
        connections_per_worker = server.connectionsPerWorker
        func tlsSection(_ t: TLSCounters.Snapshot) -> TLS {
            TLS(handshakes: t.handshakes, resumed_handshakes: t.resumed, handshake_failures: t.failureTotal,
                failures_by_reason: t.failures, handshakes_by_protocol: t.protocols, handshakes_by_cipher: t.ciphers)
        }
        tls = server.tls.map(tlsSection)
        upstream_tls = server.upstreamTLS.map(tlsSection)
        if let c {
            let lookups = c.hits + c.misses
            cache = Cache(
                hits: c.hits, misses: c.misses,
                hit_ratio: lookups == 0 ? 0 : Double(c.hits) / Double(lookups),
                byte_hit_ratio: server.bytesServed == 0 ? 0 : min(1, Double(c.bytesServedFromCache) / Double(server.bytesServed)),
                bytes_served_from_cache: c.bytesServedFromCache, entries: c.entries, bytes_held: c.bytesHeld,
                capacity_bytes: c.capacityBytes, capacity_entries: c.capacityEntries, evictions: c.evictions,
                admissions: c.admissions, rejections_by_rule: c.rejectionsByRule, revalidations: c.revalidations,
                stale_drops: c.staleDrops, slab_bytes_mapped: c.slabBytesMapped,
                slab_bytes_in_slots: c.slabBytesInSlots, slab_bytes_requested: c.slabBytesRequested)
        }
        if let s {
            let last: Double? = s.lastCommitNanos > 0 ? Double(s.lastCommitNanos) / 1e9 : nil
            store = Store(entries: s.entries, map_size_bytes: s.mapSizeBytes, map_used_bytes: s.mapUsedBytes,
                          last_commit_unix_seconds: last,
                          last_commit_age_seconds: last.map { max(0, Double(nowUnixNanos) / 1e9 - $0) },
                          schema_version: s.schemaVersion)
        }
    }
}

/// JSON encoding shared by every admin endpoint: stable key order.
enum AdminJSON {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}
