import Foundation

/// Routes admin requests: the dashboard, the JSON API and /metrics. Pure
/// request-in, reply-out, so it tests without sockets.
final class AdminRouter: Sendable {
    let backend: AdminBackend
    let token: String?
    let rates: RequestRateTracker
    let startedAt: ContinuousClock.Instant
    /// Chart.js, read once at start; nil when the library is not installed.
    let chartJS: [UInt8]?

    init(backend: AdminBackend, token: String?, rates: RequestRateTracker, chartJS: [UInt8]?) {
        self.backend = backend
        self.token = token
        self.rates = rates
        self.chartJS = chartJS
        startedAt = .now
    }

    var uptimeSeconds: Double {
        let d = ContinuousClock.now - startedAt
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Answers one request. Never throws: every failure is an error reply.
    func respond(method: String, path: String, query: String?, authorization: String?) -> AdminReply {
        do {
            return try route(method: method, path: path, query: query, authorization: authorization)
        } catch let e as AdminError {
            return .error(e)
        } catch {
            return .error(.badRequest("\(error)"))
        }
    }

    private func route(method: String, path: String, query: String?, authorization: String?) throws -> AdminReply {
        switch path {
        case "/", "/index.html":
            // The page holds no data; the API calls it makes carry the token.
            try require(method, in: ["GET", "HEAD"])
            return AdminReply(status: 200, contentType: "text/html; charset=utf-8", body: Array(DashboardPage.html.utf8),
                              headers: [("Cache-Control", "no-store")])
        case "/chart.js":
            try require(method, in: ["GET", "HEAD"])
            guard let chartJS else { throw AdminError.notFound }
            return AdminReply(status: 200, contentType: "application/javascript", body: chartJS,
                              headers: [("Cache-Control", "max-age=86400")])
        case "/api/stats":
            try authorize(authorization)
            try require(method, in: ["GET", "HEAD"])
            try QueryParameters(query).requireOnly([])
            return .json(200, statsDocument())
        case "/api/entries":
            try authorize(authorization)
            try require(method, in: ["GET", "HEAD"])
            return try entries(QueryParameters(query))
        case "/api/cache":
            try authorize(authorization)
            try require(method, in: ["DELETE"])
            return try purge(QueryParameters(query, repeatable: ["tag"]))
        case "/metrics":
            try authorize(authorization)
            try require(method, in: ["GET", "HEAD"])
            let text = PrometheusExposition.render(uptime: uptimeSeconds, server: backend.serverFigures(),
                                                   cache: backend.cacheFigures(), store: backend.storeFigures(),
                                                   backends: backend.backendFigures(), compression: backend.compressionFigures())
            return AdminReply(status: 200, contentType: PrometheusExposition.contentType, body: Array(text.utf8))
        default:
            throw AdminError.notFound
        }
    }

    func statsDocument() -> StatsDocument {
        StatsDocument(uptime: uptimeSeconds, server: backend.serverFigures(),
                      rate1s: rates.rate(window: 1), rate1m: rates.rate(window: 60),
                      cache: backend.cacheFigures(), store: backend.storeFigures(), backends: backend.backendFigures(),
                      compression: backend.compressionFigures(), nowUnixNanos: Int64(Date().timeIntervalSince1970 * 1e9))
    }

    private func entries(_ q: QueryParameters) throws -> AdminReply {
        try q.requireOnly(["prefix", "sort", "limit", "cursor"])
        let sortName = q["sort"] ?? "hits"
        guard let sort = EntrySort(rawValue: sortName) else {
            throw AdminError.badRequest("parameter sort must be one of \(EntrySort.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(sortName)\"")
        }
        let limit = try q.integer("limit", in: 1...1000, default: 50)
        let offset = try q.integer("cursor", in: 0...Int(Int32.max), default: 0)
        let prefix = q["prefix"].flatMap { $0.isEmpty ? nil : $0 }
        let (rows, total) = backend.entries(prefix: prefix, sort: sort, limit: limit, offset: offset)
        struct Row: Encodable { var key: String; var size: Int; var hits: UInt64; var inserted_ms: Int64; var last_access_ms: Int64 }
        struct Page: Encodable { var entries: [Row]; var total: Int; var next_cursor: String? }
        let next = offset + rows.count < total ? String(offset + rows.count) : nil
        return .json(200, Page(entries: rows.map { Row(key: $0.key, size: $0.size, hits: $0.hits, inserted_ms: $0.insertedMillis,
                                                        last_access_ms: $0.lastAccessMillis) },
                               total: total, next_cursor: next))
    }

    private func purge(_ q: QueryParameters) throws -> AdminReply {
        try q.requireOnly(["key", "prefix", "all", "tag", "soft"])
        let given = ["key", "prefix", "all", "tag"].filter { q[$0] != nil }
        guard given.count == 1 else {
            throw AdminError.badRequest("give exactly one of key=, prefix=, tag= or all=1")
        }
        let soft = try q.flag("soft")
        struct Removed: Encodable { var removed: Int; var scope: String; var value: String?; var soft: Bool? }
        if let key = q["key"] {
            guard !key.isEmpty else { throw AdminError.badRequest("parameter key is empty") }
            let n = soft ? backend.softPurge(key: key) : backend.purge(key: key)
            return .json(200, Removed(removed: n, scope: "key", value: key, soft: soft ? true : nil))
        }
        if let prefix = q["prefix"] {
            // An empty prefix would clear everything: make that explicit with all=1.
            guard !prefix.isEmpty else { throw AdminError.badRequest("parameter prefix is empty; use all=1 to clear") }
            let n = soft ? backend.softPurge(prefix: prefix) : backend.purge(prefix: prefix)
            return .json(200, Removed(removed: n, scope: "prefix", value: prefix, soft: soft ? true : nil))
        }
        if q["tag"] != nil {
            // Repeatable and comma-separated (tag=a&tag=b or tag=a,b).
            var tags: [String] = []
            for t in q.all("tag").flatMap({ $0.split(separator: ",") }) {
                let tag = t.trimmingCharacters(in: .whitespaces)
                if !tag.isEmpty && !tags.contains(tag) { tags.append(tag) }
            }
            guard !tags.isEmpty else { throw AdminError.badRequest("parameter tag is empty") }
            let n: Int
            do { n = try backend.purge(tags: tags, soft: soft) } catch {
                throw AdminError.unavailable("purging by tag failed: \(error)")
            }
            return .json(200, Removed(removed: n, scope: "tag", value: tags.joined(separator: ","), soft: soft ? true : nil))
        }
        guard q["all"] == "1" else { throw AdminError.badRequest("parameter all must be 1") }
        guard !soft else { throw AdminError.badRequest("soft purge takes key=, prefix= or tag=, not all=1") }
        return .json(200, Removed(removed: backend.clear(), scope: "all", value: nil, soft: nil))
    }

    private func require(_ method: String, in allowed: [String]) throws {
        guard allowed.contains(method) else { throw AdminError.methodNotAllowed(allow: allowed.joined(separator: ", ")) }
    }

    private func authorize(_ header: String?) throws {
        guard let token else { return }
        guard let header, header.hasPrefix("Bearer ") else { throw AdminError.unauthorized }
        let given = Array(header.utf8.dropFirst(7)), want = Array(token.utf8)
        // Constant-time compare: don't leak the token's length of common prefix.
        var diff = UInt8(given.count == want.count ? 0 : 1)
        for i in 0..<min(given.count, want.count) { diff |= given[i] ^ want[i] }
        if diff != 0 { throw AdminError.unauthorized }
    }
}
