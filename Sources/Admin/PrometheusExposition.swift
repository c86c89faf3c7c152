/// Renders the figures in Prometheus' text exposition format (version 0.0.4),
/// names by Prometheus conventions: `_total` counters, base units (seconds, bytes).
enum PrometheusExposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(uptime: Double, server: ServerFigures, cache: CacheFigures?, store: StoreFigures?,
                       backends: [BackendFigures] = [], compression: CompressionFigures? = nil) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += "\(name)\(s.labels) \(s.value)\n" }
        }
        func one(_ name: String, _ type: String, _ help: String, _ value: some BinaryInteger) {
            metric(name, type, help, [("", String(value))])
        }
        metric("capuchin_uptime_seconds", "gauge", "Seconds since the server started.", [("", formatDouble(uptime))])
        one("capuchin_requests_total", "counter", "Requests answered since start.", server.requests)
        one("capuchin_response_bytes_total", "counter", "Response body bytes sent since start.", server.bytesServed)
        metric("capuchin_connections", "gauge", "Open client connections per worker.",
               server.connectionsPerWorker.enumerated().map { (labels: "{worker=\"\($0.offset)\"}", value: String($0.element)) })
        if let t = server.tls {
            func labelled(_ label: String, _ counts: [String: Int]) -> [(labels: String, value: String)] {
                counts.sorted { $0.key < $1.key }.map { (labels: "{\(label)=\"\(escape($0.key))\"}", value: String($0.value)) }
            }
            one("capuchin_tls_handshakes_total", "counter", "TLS handshakes completed.", t.handshakes)
            one("capuchin_tls_resumed_handshakes_total", "counter", "TLS handshakes that resumed a session (ticket).", t.resumed)
            metric("capuchin_tls_handshake_failures_total", "counter", "TLS handshakes that failed, by OpenSSL's reason.", labelled("reason", t.failures))
            metric("capuchin_tls_handshakes_by_protocol_total", "counter", "TLS handshakes completed, by protocol version.", labelled("protocol", t.protocols))
            metric("capuchin_tls_handshakes_by_cipher_total", "counter", "TLS handshakes completed, by cipher.", labelled("cipher", t.ciphers))
        }
        if let u = server.upstreamTLS {
            one("capuchin_tls_upstream_handshakes_total", "counter", "TLS handshakes completed with HTTPS origins.", u.handshakes)
            one("capuchin_tls_upstream_resumed_handshakes_total", "counter", "Handshakes with origins that resumed a session.", u.resumed)
            one("capuchin_tls_upstream_handshake_failures_total", "counter", "Handshakes with origins that failed.", u.failureTotal)
        }
        if let c = cache {
            one("capuchin_cache_hits_total", "counter", "Requests answered from the cache (persisted across restarts).", c.hits)
            one("capuchin_cache_misses_total", "counter", "Cacheable requests not in the cache (persisted across restarts).", c.misses)
            one("capuchin_cache_served_bytes_total", "counter", "Body bytes served from the cache (persisted across restarts).", c.bytesServedFromCache)
            one("capuchin_cache_evictions_total", "counter", "Entries evicted by the policy.", c.evictions)
            one("capuchin_cache_admissions_total", "counter", "Entries admitted.", c.admissions)
            one("capuchin_cache_rejections_total", "counter", "Files refused by the admission rules.", c.rejectionsByRule)
            one("capuchin_cache_revalidations_total", "counter", "Entries re-checked against their file.", c.revalidations)
            one("capuchin_cache_stale_drops_total", "counter", "Entries dropped because their file changed or vanished.", c.staleDrops)
            one("capuchin_cache_entries", "gauge", "Entries held.", c.entries)
            one("capuchin_cache_bytes", "gauge", "Bytes held.", c.bytesHeld)
            one("capuchin_cache_capacity_bytes", "gauge", "Capacity in bytes.", c.capacityBytes)
            one("capuchin_cache_capacity_entries", "gauge", "Capacity in entries.", c.capacityEntries)
        }
        if let s = store {
            one("capuchin_store_entries", "gauge", "Entries in the persistent store.", s.entries)
            one("capuchin_store_map_size_bytes", "gauge", "LMDB map size.", s.mapSizeBytes)
            one("capuchin_store_map_used_bytes", "gauge", "LMDB map bytes in use.", s.mapUsedBytes)
            metric("capuchin_store_last_commit_timestamp_seconds", "gauge", "Unix time of the last store commit.",
                   [("", formatDouble(Double(s.lastCommitNanos) / 1e9))])
        }
        if let z = compression {
            one("capuchin_compression_variants_stored_total", "counter", "Compressed variants written to the cache directory.", z.variantsStored)
            one("capuchin_compression_input_bytes_total", "counter", "Identity bytes compressed.", z.bytesBefore)
            one("capuchin_compression_output_bytes_total", "counter", "Encoded bytes those compressions produced.", z.bytesAfter)
            one("capuchin_compressions_total", "counter", "Compressions run (background and inline).", z.compressions)
            metric("capuchin_compression_cpu_seconds_total", "counter", "Thread CPU time spent compressing.",
                   [("", formatDouble(z.compressionCPUSeconds))])
            metric("capuchin_compression_encoded_responses_total", "counter", "Responses with an encoded body, by where it came from.",
                   [("{source=\"variant\"}", String(z.variantHits)), ("{source=\"sibling\"}", String(z.siblingHits))])
            one("capuchin_compression_saved_bytes_total", "counter", "Identity minus encoded bytes over encoded responses.", z.bytesSaved)
        }
        if !backends.isEmpty {
            func labels(_ b: BackendFigures) -> String { "{pool=\"\(escape(b.pool))\",backend=\"\(escape(b.backend))\"}" }
            metric("capuchin_backend_up", "gauge", "1 when the proxy picks the backend for new requests (not marked down, health checks passing).",
                   backends.map { (labels($0), $0.up ? "1" : "0") })
            let checked = backends.filter { $0.healthy != nil }
            if !checked.isEmpty {
                metric("capuchin_backend_healthy", "gauge", "The active health checks' verdict.", checked.map { (labels($0), $0.healthy! ? "1" : "0") })
                metric("capuchin_backend_checks_failed_total", "counter", "Health checks failed.", checked.map { (labels($0), String($0.checksFailed)) })
                metric("capuchin_backend_checks_passed_total", "counter", "Health checks passed.", checked.map { (labels($0), String($0.checksPassed)) })
            }
            metric("capuchin_backend_in_flight", "gauge", "Requests in flight to the backend.", backends.map { (labels($0), String($0.inFlight)) })
        }
        return out
    }

    /// A label value with backslash, quote and newline escaped.
    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func formatDouble(_ v: Double) -> String {
        v.isFinite ? String(v) : (v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf"))
    }
}
