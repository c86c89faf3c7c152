import HTTPCore

/// What a stored response may be used for at a given moment.
public enum CacheUse: Sendable, Equatable {
    /// Fresh: serve it.
    case fresh(age: Int64)
    /// Stale within the stale-while-revalidate window (or grace): serve it and
    /// refresh it in the background.
    case staleWhileRevalidate(age: Int64)
    /// Must be revalidated first. If the origin fails (connect error, timeout,
    /// 500/502/503/504) and `staleIfErrorAllowed`, serve it anyway.
    case revalidate(staleIfErrorAllowed: Bool)
}

/// RFC 9111 shared-cache rules: storability, freshness, reuse. Pure: callers
/// pass the clock. Decisions come from the origin's headers only, never from
/// the path or its extension, so `/account.php/x.css` is cached only if the
/// origin's response says it may be (path-confusion guard).
public struct HTTPCacheRules: Sendable {
    /// Statuses cacheable without explicit freshness (RFC 9110 15.1).
    public static let heuristicallyCacheable: Set<Int> = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]
    /// Statuses whose semantics this cache understands (for `must-understand`).
    /// With explicit freshness any final status but 206 and 304 is stored
    /// (RFC 9111 3): partial bodies are not combined, and a 304 is an answer
    /// to a conditional request, not a representation.
    public static let understood: Set<Int> = heuristicallyCacheable.union([302, 303, 307, 400, 403, 500, 502, 503, 504])
    /// The share of the time since Last-Modified a response without explicit
    /// freshness stays fresh (RFC 9111 4.2.2 suggests 10%), and its cap (as
    /// ATS's heuristic_max_lifetime: a day).
    public static let heuristicFraction: Int64 = 10
    public static let heuristicMaxLifetime: Int64 = 86_400

    public let defaultTTL: Int64
    public let grace: Int64
    public let maxObjectSize: Int
    /// Where tags come from; stripped tag fields are not stored either.
    public let tagging: CacheTags

    public init(defaultTTL: Int64 = 0, grace: Int64 = 0, maxObjectSize: Int = 64 << 20, tagging: CacheTags = CacheTags()) {
        self.defaultTTL = defaultTTL
        self.grace = grace
        self.maxObjectSize = maxObjectSize
        self.tagging = tagging
    }

    public init(_ config: ProxyCacheConfig) {
        self.init(defaultTTL: config.defaultTTLSeconds, grace: config.graceSeconds, maxObjectSize: config.maxObjectSize,
                  tagging: config.tags)
    }

    /// Whether the response to `request` may be stored (RFC 9111 3), and with
    /// which headers.
    public func storability(request: HTTPRequest, status: Int, headers: HTTPHeaders) -> Storability {
        guard request.method == "GET" else { return .notStorable(.method) }
        let requestCC = CacheControl(request.headers)
        if requestCC.noStore { return .notStorable(.requestNoStore) }
        guard status >= 200, status != 206, status != 304 else { return .notStorable(.status) }
        let cc = CacheControl.forResponse(headers)
        // must-understand (RFC 9111 5.2.2.3): no-store yields to it for an understood status only.
        let mustUnderstand = cc.mustUnderstand
        if mustUnderstand && !Self.understood.contains(status) { return .notStorable(.status) }
        if cc.noStore && !mustUnderstand { return .notStorable(.noStore) }
        if cc.isPrivate { return .notStorable(.privateResponse) }
        if request.headers.contains("Authorization") && !(cc.isPublic || cc.sMaxAge != nil || cc.mustRevalidate) {
            return .notStorable(.authorization)
        }
        if FieldSyntax.listElements(headers.values("Vary")).contains("*") { return .notStorable(.varyStar) }

        var unstorable = Set(cc.privateFields + cc.noCacheFields)
        if headers.contains("Set-Cookie") && !unstorable.contains("set-cookie") { return .notStorable(.setCookie) }
        unstorable.insert("set-cookie")

        let explicit = cc.maxAge != nil || cc.sMaxAge != nil || (!cc.isTargeted && headers.contains("Expires"))
        guard explicit || cc.isPublic || Self.heuristicallyCacheable.contains(status) else { return .notStorable(.status) }

        let hasValidator = headers.contains("ETag") || headers.contains("Last-Modified")
        if !hasValidator && (cc.noCache || freshnessLifetime(status: status, cacheControl: cc, dates: StoredDates(headers), responseTime: 0) == 0) {
            return .notStorable(.noFreshness)
        }
        // Last: `tooLarge` means storable but for its size, so coalesced
        // waiters may share it (`CacheFill` spools it for them).
        if let length = headers["Content-Length"].flatMap({ Int($0) }), length > maxObjectSize {
            return .notStorable(.tooLarge)
        }

        var stored = HTTPHeaders()
        let hop = HopByHop.names(in: headers)
        for field in headers {
            let name = FieldSyntax.lowercased(field.name)
            if !hop.contains(name) && !unstorable.contains(name) && !tagging.isStripped(name) { stored.add(field.name, field.value) }
        }
        return .store(stored)
    }

    /// freshness_lifetime for a shared cache (RFC 9111 4.2.1): s-maxage, then
    /// max-age, then Expires - Date (not with a targeted field), then for a
    /// heuristically cacheable status (or `public`) the default TTL when one is
    /// configured, else 10% of the time since Last-Modified (RFC 9111 4.2.2).
    public func freshnessLifetime(status: Int, headers: HTTPHeaders, responseTime: Int64) -> Int64 {
        freshnessLifetime(status: status, cacheControl: CacheControl.forResponse(headers), dates: StoredDates(headers),
                          responseTime: responseTime)
    }

    /// The same from the fields already parsed (a stored response keeps them).
    public func freshnessLifetime(status: Int, cacheControl cc: CacheControl, dates: StoredDates, responseTime: Int64) -> Int64 {
        if let s = cc.sMaxAge { return s }
        if let m = cc.maxAge { return m }
        if !cc.isTargeted, let parsed = dates.expires {
            // Invalid dates (e.g. "0") mean already expired.
            guard let expires = parsed else { return 0 }
            return max(0, expires - (dates.date ?? responseTime))
        }
        guard cc.isPublic || Self.heuristicallyCacheable.contains(status) else { return 0 }
        if defaultTTL > 0 { return defaultTTL }
        guard let modified = dates.lastModified else { return 0 }
        let since = (dates.date ?? responseTime) - Int64(modified)
        return since > 0 ? min(since / Self.heuristicFraction, Self.heuristicMaxLifetime) : 0
    }

    /// How `stored` may be used at wall-clock `now` (RFC 9111 4.2, 4.2.4;
    /// RFC 5861). Config grace stands in for stale-while-revalidate and
    /// stale-if-error when the origin gives neither; no-cache, must-revalidate,
    /// proxy-revalidate and s-maxage forbid serving stale at all.
    /// Request Cache-Control is ignored, as Varnish does: clients cannot force
    /// origin fetches. A soft-purged response is stale whatever its headers say:
    /// revalidated before use, and served when the origin fails (Fastly's soft purge).
    public func use(of stored: StoredResponse, now: Int64, softPurged: Bool = false) -> CacheUse {
        if softPurged { return .revalidate(staleIfErrorAllowed: true) }
        let cc = stored.cacheControl
        if cc.noCache { return .revalidate(staleIfErrorAllowed: false) }
        let age = stored.currentAge(now: now)
        let lifetime = freshnessLifetime(status: stored.status, cacheControl: cc, dates: stored.dates,
                                         responseTime: stored.responseTime)
        if age < lifetime { return .fresh(age: age) }
        if cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge != nil { return .revalidate(staleIfErrorAllowed: false) }
        let staleness = age - lifetime
        if staleness < (cc.staleWhileRevalidate ?? grace) { return .staleWhileRevalidate(age: age) }
        return .revalidate(staleIfErrorAllowed: staleness < (cc.staleIfError ?? grace))
    }

    /// Whether an origin answer counts as an error for stale-if-error.
    public static func isServerError(_ status: Int) -> Bool { [500, 502, 503, 504].contains(status) }

    /// Whether a response to `method` with `status` invalidates the stored
    /// responses for its target (RFC 9111 4.4): unsafe method, non-error status.
    public static func invalidates(method: String, status: Int) -> Bool {
        !["GET", "HEAD", "OPTIONS", "TRACE"].contains(method) && (200..<400).contains(status)
    }
}
