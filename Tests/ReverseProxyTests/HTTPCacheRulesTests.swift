import XCTest
import HTTPCore
@testable import ReverseProxy

final class HTTPCacheRulesTests: XCTestCase {
    let rules = HTTPCacheRules(defaultTTL: 0, grace: 0)
    let t0: Int64 = 1_700_000_000

    private func verdict(_ headers: [(String, String)], status: Int = 200, request: HTTPRequest = makeRequest(), rules: HTTPCacheRules? = nil) -> Storability {
        (rules ?? self.rules).storability(request: request, status: status, headers: HTTPHeaders(headers))
    }

    private func stored(_ headers: [(String, String)], status: Int = 200, requestTime: Int64? = nil, responseTime: Int64? = nil) -> StoredResponse {
        StoredResponse(status: status, headers: HTTPHeaders(headers), requestTime: requestTime ?? t0, responseTime: responseTime ?? t0,
                       vary: VaryKey(responseHeaders: HTTPHeaders(headers), request: HTTPHeaders()), bodySize: 0)
    }

    func testCacheControlParsing() {
        let cc = CacheControl(values: ["Max-Age=60, s-maxage=\"120\", no-cache=\"Set-Cookie, X-A\"", "private=x-b, public, must-revalidate",
                                       "stale-while-revalidate=30, stale-if-error=600, max-age=5, proxy-revalidate"])
        XCTAssertEqual(cc.maxAge, 60, "first occurrence wins")
        XCTAssertEqual(cc.sMaxAge, 120)
        XCTAssertFalse(cc.noCache)
        XCTAssertEqual(cc.noCacheFields, ["set-cookie", "x-a"])
        XCTAssertFalse(cc.isPrivate)
        XCTAssertEqual(cc.privateFields, ["x-b"])
        XCTAssertTrue(cc.isPublic && cc.mustRevalidate && cc.proxyRevalidate)
        XCTAssertEqual(cc.staleWhileRevalidate, 30)
        XCTAssertEqual(cc.staleIfError, 600)
        XCTAssertEqual(CacheControl(values: ["max-age=abc"]).maxAge, 0, "invalid max-age means stale")
        XCTAssertEqual(CacheControl(values: ["max-age=99999999999999"]).maxAge, 2_147_483_648)
        XCTAssertTrue(CacheControl(values: ["no-cache"]).noCache)
        XCTAssertTrue(CacheControl(values: ["no-store"]).noStore)
    }

    func testNoStoreAndPrivateAreNotStored() {
        XCTAssertEqual(verdict([("Cache-Control", "no-store, max-age=60")]), .notStorable(.noStore))
        XCTAssertEqual(verdict([("Cache-Control", "private, max-age=60")]), .notStorable(.privateResponse))
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60")], request: makeRequest(headers: [("Host", "a"), ("Cache-Control", "no-store")])),
                       .notStorable(.requestNoStore))
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60")], request: makeRequest("POST")), .notStorable(.method))
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60")], request: makeRequest("HEAD")), .notStorable(.method))
        // private="field": stored without that field.
        guard case .store(let h) = verdict([("Cache-Control", "private=\"X-User\", max-age=60"), ("X-User", "bob"), ("ETag", "\"1\"")]) else {
            return XCTFail("field-qualified private should be stored")
        }
        XCTAssertNil(h["X-User"])
        XCTAssertEqual(h["ETag"], "\"1\"")
    }

    func testNoCacheIsStoredButAlwaysRevalidated() {
        XCTAssertEqual(verdict([("Cache-Control", "no-cache")]), .notStorable(.noFreshness), "no validator: pointless to store")
        let headers = [("Cache-Control", "no-cache, max-age=600"), ("ETag", "\"abc\"")]
        guard case .store = verdict(headers) else { return XCTFail("no-cache with a validator is stored") }
        XCTAssertEqual(rules.use(of: stored(headers), now: t0 + 1), .revalidate(staleIfErrorAllowed: false))
        // no-cache with field names: stored without them, served fresh.
        let qualified = [("Cache-Control", "no-cache=\"Set-Cookie\", max-age=600"), ("Set-Cookie", "s=1")]
        guard case .store(let h) = verdict(qualified) else { return XCTFail("no-cache=Set-Cookie allows storing") }
        XCTAssertNil(h["Set-Cookie"])
        XCTAssertEqual(rules.use(of: stored(h.fields.map { ($0.name, $0.value) }), now: t0 + 1), .fresh(age: 1))
    }

    func testSetCookieIsNeverStoredUnlessExcluded() {
        XCTAssertEqual(verdict([("Cache-Control", "public, max-age=60"), ("Set-Cookie", "session=1")]), .notStorable(.setCookie))
        guard case .store(let h) = verdict([("Cache-Control", "max-age=60, private=\"set-cookie\""), ("Set-Cookie", "s=1")]) else {
            return XCTFail("private=set-cookie allows storing the rest")
        }
        XCTAssertFalse(h.contains("Set-Cookie"))
    }

    func testAuthorizationNeedsExplicitPermission() {
        let auth = makeRequest(headers: [("Host", "a"), ("Authorization", "Bearer t")])
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60")], request: auth), .notStorable(.authorization))
        for cc in ["public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60"] {
            guard case .store = verdict([("Cache-Control", cc)], request: auth) else { return XCTFail(cc) }
        }
    }

    func testStatusCodes() {
        let withTTL = HTTPCacheRules(defaultTTL: 60)
        for status in [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501] {
            guard case .store = verdict([], status: status, rules: withTTL) else { return XCTFail("\(status) is heuristically cacheable") }
        }
        for status in [201, 206, 302, 307, 400, 403, 500, 502, 503] {
            XCTAssertEqual(verdict([], status: status, rules: withTTL), .notStorable(.status), "\(status)")
        }
        guard case .store = verdict([("Cache-Control", "max-age=60")], status: 302) else { return XCTFail("302 with explicit freshness") }
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60")], status: 206), .notStorable(.status))
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60")], status: 304), .notStorable(.status))
        // With explicit freshness any final status is the origin's to cache (RFC 9111 3; nginx and ATS agree).
        for status in [400, 500, 503, 599] {
            guard case .store = verdict([("Cache-Control", "max-age=60")], status: status) else { return XCTFail("\(status) with max-age") }
        }
        // public makes any final status heuristically cacheable.
        guard case .store = verdict([("Cache-Control", "public"), ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")], status: 599)
        else { return XCTFail("599 public") }
    }

    func testMustUnderstandOverridesNoStoreForUnderstoodStatusesOnly() {
        let cc = [("Cache-Control", "max-age=3600, no-store, must-understand")]
        guard case .store = verdict(cc, status: 200) else { return XCTFail("200 is understood") }
        XCTAssertEqual(verdict(cc, status: 599), .notStorable(.status))
        XCTAssertEqual(verdict([("Cache-Control", "max-age=3600, no-store")], status: 200), .notStorable(.noStore))
    }

    func testHeuristicFreshnessIsATenthOfTheTimeSinceLastModified() {
        let date = HTTPDate.format(epochSeconds: Int(t0)), day = HTTPDate.format(epochSeconds: Int(t0) - 86_400)
        let lm = [("Date", date), ("Last-Modified", day)]
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders(lm), responseTime: t0), 8_640)
        XCTAssertEqual(rules.freshnessLifetime(status: 404, headers: HTTPHeaders(lm), responseTime: t0), 8_640)
        XCTAssertEqual(rules.freshnessLifetime(status: 403, headers: HTTPHeaders(lm), responseTime: t0), 0, "not heuristically cacheable")
        let old = [("Date", date), ("Last-Modified", HTTPDate.format(epochSeconds: Int(t0) - 100 * 86_400))]
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders(old), responseTime: t0), 86_400, "capped at a day")
        XCTAssertEqual(rules.use(of: stored(lm), now: t0 + 8_639), .fresh(age: 8_639))
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders([("Date", date)]), responseTime: t0), 0)
    }

    func testAgeListOrRepeatedLinesCountTheFirstValue() {
        XCTAssertEqual(stored([("Age", "7200, 0")]).dates.age, 7200)
        XCTAssertEqual(stored([("Age", "0, 7200")]).dates.age, 0)
        XCTAssertEqual(stored([("Age", "7200"), ("Age", "0")]).dates.age, 7200)
        XCTAssertEqual(stored([("Age", " 5")]).dates.age, 5)
        XCTAssertEqual(stored([("Age", "old")]).dates.age, 0)
    }

    func testTargetedFieldTakesPrecedenceOverCacheControlAndExpires() {
        // CDN-Cache-Control decides; Cache-Control and Expires are ignored for this cache.
        XCTAssertEqual(verdict([("CDN-Cache-Control", "private"), ("Cache-Control", "max-age=10000")]), .notStorable(.privateResponse))
        guard case .store = verdict([("CDN-Cache-Control", "max-age=600"), ("Cache-Control", "no-store")]) else { return XCTFail("cdn max-age") }
        let r = stored([("CDN-Cache-Control", "max-age=600"), ("Cache-Control", "max-age=1"), ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")])
        XCTAssertEqual(rules.use(of: r, now: t0 + 300), .fresh(age: 300))
        XCTAssertEqual(rules.use(of: stored([("CDN-Cache-Control", "no-cache"), ("Cache-Control", "max-age=600")]), now: t0),
                       .revalidate(staleIfErrorAllowed: false))
        // Our own field comes before the CDN one.
        let own = stored([("Capuchin-Cache-Control", "max-age=5"), ("CDN-Cache-Control", "max-age=600")])
        XCTAssertEqual(rules.use(of: own, now: t0 + 4), .fresh(age: 4))
        XCTAssertEqual(rules.use(of: own, now: t0 + 10), .revalidate(staleIfErrorAllowed: false))
        // An invalid Structured Field, or a directive of the wrong type, is ignored as a whole.
        for bad in ["max-age=10000, &&&&&", "max-age=\"10000\"", "max-age =100", "max-age=10,", "", "Max-Age=10", "max-age=-1"] {
            XCTAssertNil(TargetedCacheControl.parse(bad), bad)
            XCTAssertEqual(verdict([("CDN-Cache-Control", bad), ("Cache-Control", "no-store")]), .notStorable(.noStore), bad)
        }
        let ok = TargetedCacheControl.parse("max-age=99999999999, stale-if-error=30;x=1, foo=\"bar\", no-cache=\"set-cookie\", must-revalidate")
        XCTAssertEqual(ok?.maxAge, 2_147_483_648)
        XCTAssertEqual(ok?.staleIfError, 30)
        XCTAssertEqual(ok?.noCacheFields, ["set-cookie"])
        XCTAssertEqual(ok?.mustRevalidate, true)
        XCTAssertEqual(ok?.isTargeted, true)
    }

    func testDefaultTTLAppliesOnlyWhenTheOriginIsSilent() {
        XCTAssertEqual(verdict([]), .notStorable(.noFreshness), "default TTL 0: only explicit freshness is cached")
        let withTTL = HTTPCacheRules(defaultTTL: 120)
        XCTAssertEqual(withTTL.freshnessLifetime(status: 200, headers: HTTPHeaders(), responseTime: t0), 120)
        XCTAssertEqual(withTTL.freshnessLifetime(status: 200, headers: HTTPHeaders([("Cache-Control", "max-age=5")]), responseTime: t0), 5)
        XCTAssertEqual(withTTL.freshnessLifetime(status: 302, headers: HTTPHeaders(), responseTime: t0), 0)
        XCTAssertEqual(withTTL.use(of: stored([]), now: t0 + 119), .fresh(age: 119))
        XCTAssertEqual(withTTL.use(of: stored([]), now: t0 + 120), .revalidate(staleIfErrorAllowed: false))
    }

    func testSMaxAgeOverridesMaxAgeAndForbidsStale() {
        let h = [("Cache-Control", "max-age=10, s-maxage=100")]
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders(h), responseTime: t0), 100)
        XCTAssertEqual(rules.use(of: stored(h), now: t0 + 50), .fresh(age: 50))
        let graceful = HTTPCacheRules(grace: 1000)
        XCTAssertEqual(graceful.use(of: stored(h), now: t0 + 150), .revalidate(staleIfErrorAllowed: false))
    }

    func testExpiresAndDate() {
        let date = HTTPDate.format(epochSeconds: Int(t0))
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders([("Date", date), ("Expires", HTTPDate.format(epochSeconds: Int(t0 + 300)))]), responseTime: t0 + 5), 300)
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders([("Expires", HTTPDate.format(epochSeconds: Int(t0 + 300)))]), responseTime: t0), 300, "no Date: response time")
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders([("Expires", "0")]), responseTime: t0), 0, "invalid Expires is in the past")
        XCTAssertEqual(rules.freshnessLifetime(status: 200, headers: HTTPHeaders([("Cache-Control", "max-age=7"), ("Expires", HTTPDate.format(epochSeconds: Int(t0 + 300)))]), responseTime: t0), 7)
        XCTAssertEqual(verdict([("Expires", "0")]), .notStorable(.noFreshness))
    }

    func testCurrentAgeFollowsRFC9111() {
        // Age 30 from upstream, 2 s in transit, stored 10 s: 42.
        let s = stored([("Age", "30"), ("Date", HTTPDate.format(epochSeconds: Int(t0)))], requestTime: t0 - 2, responseTime: t0)
        XCTAssertEqual(s.currentAge(now: t0 + 10), 42)
        // A Date in the past beyond Age: apparent age wins.
        let old = stored([("Date", HTTPDate.format(epochSeconds: Int(t0 - 100)))], requestTime: t0, responseTime: t0)
        XCTAssertEqual(old.currentAge(now: t0), 100)
        let h = [("Cache-Control", "max-age=60"), ("Age", "50")]
        XCTAssertEqual(rules.use(of: stored(h), now: t0 + 9), .fresh(age: 59))
        XCTAssertEqual(rules.use(of: stored(h), now: t0 + 10), .revalidate(staleIfErrorAllowed: false))
    }

    func testGraceAndStaleDirectives() {
        let graceful = HTTPCacheRules(grace: 30)
        let plain = stored([("Cache-Control", "max-age=60")])
        XCTAssertEqual(graceful.use(of: plain, now: t0 + 70), .staleWhileRevalidate(age: 70))
        XCTAssertEqual(graceful.use(of: plain, now: t0 + 95), .revalidate(staleIfErrorAllowed: false))
        let directives = stored([("Cache-Control", "max-age=60, stale-while-revalidate=10, stale-if-error=300")])
        XCTAssertEqual(graceful.use(of: directives, now: t0 + 65), .staleWhileRevalidate(age: 65))
        XCTAssertEqual(graceful.use(of: directives, now: t0 + 75), .revalidate(staleIfErrorAllowed: true))
        XCTAssertEqual(graceful.use(of: directives, now: t0 + 400), .revalidate(staleIfErrorAllowed: false))
        let strict = stored([("Cache-Control", "max-age=60, must-revalidate, stale-if-error=300")])
        XCTAssertEqual(graceful.use(of: strict, now: t0 + 61), .revalidate(staleIfErrorAllowed: false))
        XCTAssertTrue(HTTPCacheRules.isServerError(503))
        XCTAssertFalse(HTTPCacheRules.isServerError(404))
    }

    func testVary() {
        let response = HTTPHeaders([("Vary", "Accept-Encoding, accept-language"), ("Vary", "X-Device")])
        let key = VaryKey(responseHeaders: response, request: HTTPHeaders([("Accept-Encoding", "gzip,  br"), ("Accept-Language", "en")]))
        XCTAssertEqual(key.fields, ["accept-encoding", "accept-language", "x-device"])
        XCTAssertTrue(key.matches(HTTPHeaders([("accept-language", "en"), ("Accept-Encoding", "gzip, br")])))
        XCTAssertFalse(key.matches(HTTPHeaders([("Accept-Encoding", "gzip"), ("Accept-Language", "en")])))
        XCTAssertFalse(key.matches(HTTPHeaders([("Accept-Encoding", "gzip, br"), ("Accept-Language", "en"), ("X-Device", "")])), "absent differs from empty")
        let star = VaryKey(responseHeaders: HTTPHeaders([("Vary", "*")]), request: HTTPHeaders())
        XCTAssertFalse(star.matches(HTTPHeaders()))
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60"), ("Vary", "Cookie, *")]), .notStorable(.varyStar))
        XCTAssertTrue(VaryKey(responseHeaders: HTTPHeaders(), request: HTTPHeaders([("A", "1")])).matches(HTTPHeaders([("A", "2")])))
    }

    func testRevalidationRequestAndMerge() {
        let s = stored([("Cache-Control", "max-age=60"), ("ETag", "\"v1\""), ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
                        ("Content-Length", "10"), ("Age", "20"), ("X-Old", "1")], requestTime: t0, responseTime: t0)
        let client = makeRequest("HEAD", "/a", headers: [("Host", "a"), ("If-None-Match", "\"zzz\""), ("Range", "bytes=0-1")])
        let r = Revalidation.conditionalRequest(for: client, stored: s)
        XCTAssertEqual(r.method, "GET")
        XCTAssertEqual(r.headers.values("If-None-Match"), ["\"v1\""])
        XCTAssertEqual(r.headers["If-Modified-Since"], "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertNil(r.headers["Range"])

        let notModified = HTTPHeaders([("Cache-Control", "max-age=120"), ("ETag", "\"v1\""), ("Content-Length", "0"), ("Connection", "close"), ("X-New", "2")])
        let merged = Revalidation.merge(notModified: notModified, into: s, requestTime: t0 + 500, responseTime: t0 + 501)
        XCTAssertEqual(merged?.headers["Cache-Control"], "max-age=120")
        XCTAssertEqual(merged?.headers["Content-Length"], "10", "Content-Length of a 304 is not merged")
        XCTAssertNil(merged?.headers["Connection"])
        XCTAssertNil(merged?.headers["Age"], "the old Age no longer applies")
        XCTAssertEqual(merged?.headers["X-Old"], "1")
        XCTAssertEqual(merged?.headers["X-New"], "2")
        XCTAssertEqual(merged.map { rules.use(of: $0, now: t0 + 510) }, .fresh(age: 10))
        XCTAssertNil(Revalidation.merge(notModified: HTTPHeaders([("ETag", "\"v2\"")]), into: s, requestTime: t0, responseTime: t0),
                     "a 304 for another strong ETag does not validate this response")
    }

    func testPathConfusionGuard() {
        // The path plays no part: the same headers give the same verdict for a
        // dynamic page dressed up with a static-looking suffix.
        for headers in [[(String, String)](), [("Cache-Control", "private")], [("Cache-Control", "no-store")], [("Set-Cookie", "s=1")]] {
            let css = verdict(headers, request: makeRequest("GET", "/style.css"))
            let confused = verdict(headers, request: makeRequest("GET", "/account.php/x.css"))
            XCTAssertEqual(css, confused)
            if case .store = confused { XCTFail("\(headers) must not be stored") }
        }
    }

    func testInvalidationAndKeys() {
        XCTAssertTrue(HTTPCacheRules.invalidates(method: "POST", status: 201))
        XCTAssertTrue(HTTPCacheRules.invalidates(method: "DELETE", status: 204))
        XCTAssertFalse(HTTPCacheRules.invalidates(method: "POST", status: 500))
        XCTAssertFalse(HTTPCacheRules.invalidates(method: "GET", status: 200))
        let key = CacheKey()
        XCTAssertEqual(key.primary(for: makeRequest("GET", "/a?b=1")), key.primary(for: makeRequest("HEAD", "/a?b=1")))
        XCTAssertNotEqual(key.primary(for: makeRequest("GET", "/a")),
                          key.primary(for: makeRequest("GET", "/a", headers: [("Host", "other.example")])))
    }

    func testPrimaryKeyHasSchemeHostPortPathAndQuery() {
        let key = CacheKey()
        XCTAssertEqual(key.primary(for: makeRequest("GET", "/a/b?x=1&y=2")), "http://example.com/a/b?x=1&y=2")
        XCTAssertEqual(key.primary(for: makeRequest("GET", "/a", headers: [("Host", "example.com:80")])), "http://example.com/a")
        XCTAssertEqual(key.primary(for: makeRequest("GET", "/a", headers: [("Host", "example.com:8080")])), "http://example.com:8080/a")
        XCTAssertEqual(key.primary(for: makeRequest("GET", "/a"), scheme: "https"), "https://example.com/a")
        XCTAssertEqual(key.primary(for: makeRequest("GET", "http://other.example/z?q")), "http://example.com/z?q")
        // Tracking parameters dropped, the rest optionally sorted.
        let tuned = CacheKey(ignoredQueryParameters: ["utm_*", "gclid"], sortsQuery: true)
        XCTAssertEqual(tuned.primary(for: makeRequest("GET", "/p?b=2&utm_source=x&a=1&gclid=9&utm_medium=y")), "http://example.com/p?a=1&b=2")
        XCTAssertEqual(tuned.primary(for: makeRequest("GET", "/p?utm_source=x")), "http://example.com/p")
        XCTAssertEqual(tuned.primary(for: makeRequest("GET", "/p?gclidx=1")), "http://example.com/p?gclidx=1", "exact names match exactly")
        XCTAssertEqual(CacheKey(sortsQuery: false).primary(for: makeRequest("GET", "/p?b=2&a=1")), "http://example.com/p?b=2&a=1")
    }

    func testAcceptEncodingIsNormalisedInTheVaryKey() {
        let vary = HTTPHeaders([("Vary", "Accept-Encoding")])
        let chrome = VaryKey(responseHeaders: vary, request: HTTPHeaders([("Accept-Encoding", "gzip, deflate, br, zstd")]))
        for same in ["zstd,br , deflate,gzip", "br;q=1.0, gzip;q=0.8, deflate, zstd;q=0.5", "*;q=0.1, compress;q=0", "x-gzip, br, zstd, deflate, compress;q=0"] {
            XCTAssertTrue(chrome.matches(HTTPHeaders([("Accept-Encoding", same)])), same)
        }
        XCTAssertFalse(chrome.matches(HTTPHeaders([("Accept-Encoding", "gzip")])))
        XCTAssertFalse(chrome.matches(HTTPHeaders([("Accept-Encoding", "gzip, deflate, br;q=0, zstd")])))
        let identity = VaryKey(responseHeaders: vary, request: HTTPHeaders([("Accept-Encoding", "identity")]))
        XCTAssertTrue(identity.matches(HTTPHeaders([("Accept-Encoding", "gzip;q=0")])))
        XCTAssertFalse(identity.matches(HTTPHeaders()), "absent and present differ")
    }

    func testTooLarge() {
        let small = HTTPCacheRules(maxObjectSize: 100)
        XCTAssertEqual(verdict([("Cache-Control", "max-age=60"), ("Content-Length", "101")], rules: small), .notStorable(.tooLarge))
    }
}
