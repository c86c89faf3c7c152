import CapuchinServer
import XCTest
@testable import ReverseProxy

final class ProxyConfigTests: XCTestCase {
    let valid = """
    proxy:
      node_id: n1
      routes:
        - {match: '^/api/', pool: api}
        - {match: '\\.php$', pool: php}
        - {match: '^/', pool: php}
      pools:
        api:
          backends: ['127.0.0.1:9001', '[::1]:9002']
          balance: least-connections
          attempts: 3
          offline_timeout: 5s
          connect_timeout: 500ms
          host_header: backend
          trusted_proxies: ['10.0.0.0/8', '::1']
        php:
          backends: ['app:8080']
          host_header: fixed
          host_header_value: internal.example
      cache:
        dir: /var/cache/capuchin
        default_ttl: 2m
        grace: 30
        max_object_size: 8m
        capacity_bytes: 2g
        capacity_entries: 5000
        key: {ignore_query: ['utm_*', gclid], sort_query: true}
    """

    private func parse(_ text: String) throws -> ProxyConfig {
        let server = try ConfigLoader.parse("sites:\n  - {root: /tmp, default: true}\n" + text, file: "test.yaml")
        return try ProxyConfig.parse(server.section(for: "proxy"), defaultNodeID: "host")
    }

    func testParsesAValidConfig() throws {
        let c = try parse(valid)
        XCTAssertEqual(c.nodeID, "n1")
        XCTAssertEqual(c.routes.map(\.pool), ["api", "php", "php"])
        let api = try XCTUnwrap(c.pools["api"])
        XCTAssertEqual(api.backends, [BackendAddress(host: "127.0.0.1", port: 9001), BackendAddress(host: "::1", port: 9002)])
        XCTAssertEqual(api.balance, .leastConnections)
        XCTAssertEqual(api.attempts, 3)
        XCTAssertEqual(api.offlineTimeoutNanos, 5_000_000_000)
        XCTAssertEqual(api.connectTimeoutNanos, 500_000_000)
        XCTAssertEqual(api.hostHeader, .backend)
        XCTAssertTrue(api.trusts("10.1.2.3"))
        XCTAssertTrue(api.trusts("::1"))
        XCTAssertFalse(api.trusts("11.0.0.1"))
        XCTAssertEqual(c.pools["php"]?.hostHeader, .fixed("internal.example"))
        XCTAssertEqual(c.cache.defaultTTLSeconds, 120)
        XCTAssertEqual(c.cache.graceSeconds, 30)
        XCTAssertEqual(c.cache.maxObjectSize, 8 << 20)
        XCTAssertEqual(c.cache.spoolCapacity, 16 * (8 << 20), "by default 16 x max_object_size")
        XCTAssertTrue(c.cache.enabled)
        XCTAssertEqual(c.cache.limit, ProxyCacheLimit(bytes: 2 << 30, entries: 5000))
        XCTAssertEqual(c.cache.key, CacheKey(ignoredQueryParameters: ["utm_*", "gclid"], sortsQuery: true))
        XCTAssertEqual(c.cache.targetedField, "Capuchin-Cache-Control")
    }

    func testFirstMatchingRouteWins() throws {
        let c = try parse(valid)
        XCTAssertEqual(c.route(for: "/api/x.php")?.pool, "api")
        XCTAssertEqual(c.route(for: "/index.php")?.pool, "php")
        XCTAssertEqual(c.route(for: "/static/a.css")?.pattern, "^/")
    }

    func testLiteralPrefixRoutesMatchLikeTheirRegex() throws {
        let literal = try ProxyRoute(pattern: "^/api/", pool: "p", key: "k")
        XCTAssertEqual(literal.literalPrefix, "/api/")
        XCTAssertTrue(literal.matches("/api/users"))
        XCTAssertFalse(literal.matches("/x/api/users"))
        XCTAssertFalse(literal.matches("/apiv2"))
        let regex = try ProxyRoute(pattern: "^/a.b", pool: "p", key: "k")
        XCTAssertNil(regex.literalPrefix)
        XCTAssertTrue(regex.matches("/aXb"))
        let unanchored = try ProxyRoute(pattern: "/img/", pool: "p", key: "k")
        XCTAssertNil(unanchored.literalPrefix)
        XCTAssertTrue(unanchored.matches("/static/img/a.png"))
    }

    func testNodeIDDefaultsAndCacheIsOffWithoutASection() throws {
        let c = try parse("proxy:\n  routes: [{match: '^/', pool: p}]\n  pools:\n    p: {backends: ['127.0.0.1:1']}\n")
        XCTAssertEqual(c.nodeID, "host")
        XCTAssertFalse(c.cache.enabled)
    }

    /// `valid` with one line replaced (`old` must occur in it).
    private func edit(_ old: String, _ new: String) -> String {
        precondition(valid.contains(old), old)
        return valid.replacingOccurrences(of: old, with: new)
    }

    private func assertError(_ text: String, key: String, contains message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
            guard let e = error as? ConfigError else { return XCTFail("wrong error \(error)", file: file, line: line) }
            XCTAssertEqual(e.file, "test.yaml", file: file, line: line)
            XCTAssertEqual(e.key, key, "\(e)", file: file, line: line)
            XCTAssertTrue(message.isEmpty || e.message.contains(message), e.message, file: file, line: line)
        }
    }

    func testErrorsNameTheFileAndKey() {
        assertError(edit("  routes:", "  rutes: []\n  routes:"), key: "proxy.rutes", contains: "unknown key")
        assertError(edit("{match: '^/api/', pool: api}", "{match: '^/(unclosed', pool: api}"), key: "proxy.routes[0].match", contains: "invalid regular expression")
        assertError(edit("{match: '^/api/', pool: api}", "{match: '^/', pool: nope}"), key: "proxy.routes[0].pool", contains: "no pool named")
        assertError(edit("['127.0.0.1:9001', '[::1]:9002']", "['127.0.0.1']"), key: "proxy.pools.api.backends[0]", contains: "missing port")
        assertError(edit("['127.0.0.1:9001', '[::1]:9002']", "['h:70000']"), key: "proxy.pools.api.backends[0]", contains: "1...65535")
        assertError(edit("['127.0.0.1:9001', '[::1]:9002']", "[]"), key: "proxy.pools.api.backends")
        assertError(edit("['127.0.0.1:9001', '[::1]:9002']", "['a:1', 'a:1']"), key: "proxy.pools.api.backends", contains: "twice")
        assertError(edit("balance: least-connections", "balance: random"), key: "proxy.pools.api.balance", contains: "expected one of")
        assertError(edit("attempts: 3", "attempts: 0"), key: "proxy.pools.api.attempts")
        assertError(edit("connect_timeout: 500ms", "connect_timeout: soon"), key: "proxy.pools.api.connect_timeout", contains: "duration")
        assertError(edit("connect_timeout: 500ms", "connect_timeout: 0"), key: "proxy.pools.api.connect_timeout", contains: "greater than zero")
        assertError(edit("'10.0.0.0/8', '::1'", "'10.0.0.0/33'"), key: "proxy.pools.api.trusted_proxies[0]")
        assertError(edit("host_header: fixed\n      host_header_value: internal.example", "host_header: fixed"), key: "proxy.pools.php.host_header_value")
        assertError(edit("host_header: backend", "host_header: client"), key: "proxy.pools.api.host_header")
        assertError(edit("attempts: 3", "attempts: 3\n      weight: 2"), key: "proxy.pools.api.weight", contains: "unknown key")
        assertError(edit("dir: /var/cache/capuchin", "dir: relative/dir"), key: "proxy.cache.dir", contains: "absolute")
        assertError(edit("max_object_size: 8m", "max_object_size: lots"), key: "proxy.cache.max_object_size")
        assertError(edit("max_object_size: 8m", "durability: maybe"), key: "proxy.cache.durability")
        assertError(edit("max_object_size: 8m", "spool_capacity_bytes: -1"), key: "proxy.cache.spool_capacity_bytes")
        XCTAssertEqual(try parse(edit("max_object_size: 8m", "max_object_size: 8m\n    spool_capacity_bytes: 100m")).cache.spoolCapacity, 100 << 20)
        assertError(edit("node_id: n1", "node_id: has space"), key: "proxy.node_id")
        assertError(edit("capacity_entries: 5000", "capacity_entries: 0"), key: "proxy.cache.capacity_entries")
        assertError(edit("capacity_bytes: 2g", "capacity_bytes: huge"), key: "proxy.cache.capacity_bytes")
        assertError(edit("sort_query: true", "sort_query: sometimes"), key: "proxy.cache.key.sort_query")
        assertError(edit("gclid]", "'a=b']"), key: "proxy.cache.key.ignore_query", contains: "not a query parameter")
        assertError(edit("sort_query: true", "sort: true"), key: "proxy.cache.key.sort", contains: "unknown key")
        assertError(edit("capacity_entries: 5000", "capacity_entries: 5000\n    targeted_field: 'two words'"), key: "proxy.cache.targeted_field")
    }

    func testCacheTagKeys() throws {
        XCTAssertEqual(try parse(valid).cache.tags, CacheTags(fields: ["Surrogate-Key", "Cache-Tag"], strips: true))
        let c = try parse(edit("capacity_entries: 5000", "capacity_entries: 5000\n    tag_headers: [X-Tags]\n    strip_tag_headers: false"))
        XCTAssertEqual(c.cache.tags, CacheTags(fields: ["X-Tags"], strips: false))
        XCTAssertEqual(try parse(edit("capacity_entries: 5000", "capacity_entries: 5000\n    tag_headers: []")).cache.tags.fields, [])
        assertError(edit("capacity_entries: 5000", "capacity_entries: 5000\n    tag_headers: ['Cache Tag']"),
                    key: "proxy.cache.tag_headers", contains: "entry 0")
        assertError(edit("capacity_entries: 5000", "capacity_entries: 5000\n    strip_tag_headers: maybe"), key: "proxy.cache.strip_tag_headers")
    }

    func testFailureMarkingAndKeepaliveKeys() throws {
        let api = try XCTUnwrap(try parse(valid).pools["api"])
        XCTAssertEqual(api.maxFails, 1)
        XCTAssertEqual(api.keepaliveTimeoutNanos, 4_000_000_000, "below common origins' 5 s")
        XCTAssertEqual(api.failOnStatus, [])
        let c = try parse(edit("offline_timeout: 5s", "max_fails: 3\n      fail_timeout: 20s\n      fail_on_status: [502, 503]\n      keepalive_timeout: 1s"))
        let tuned = try XCTUnwrap(c.pools["api"])
        XCTAssertEqual(tuned.maxFails, 3)
        XCTAssertEqual(tuned.offlineTimeoutNanos, 20_000_000_000)
        XCTAssertEqual(tuned.failOnStatus, [502, 503])
        XCTAssertEqual(tuned.keepaliveTimeoutNanos, 1_000_000_000)
        assertError(edit("offline_timeout: 5s", "offline_timeout: 5s\n      fail_timeout: 5s"), key: "proxy.pools.api.offline_timeout", contains: "older name")
        assertError(edit("offline_timeout: 5s", "fail_on_status: [404]"), key: "proxy.pools.api.fail_on_status", contains: "5xx")
        assertError(edit("offline_timeout: 5s", "max_fails: -1"), key: "proxy.pools.api.max_fails")
    }

    func testHealthCheckKeys() throws {
        XCTAssertNil(try parse(valid).pools["api"]?.healthCheck)
        let c = try parse(edit("offline_timeout: 5s", "health_check: {path: /healthz, interval: 2s, timeout: 500ms, expect_status: [200, 3xx], rise: 1, fall: 4}"))
        let hc = try XCTUnwrap(c.pools["api"]?.healthCheck)
        XCTAssertEqual(hc.path, "/healthz")
        XCTAssertEqual(hc.intervalNanos, 2_000_000_000)
        XCTAssertEqual(hc.timeoutNanos, 500_000_000)
        XCTAssertEqual(hc.expectStatus, Set([200] + Array(300..<400)))
        XCTAssertEqual(hc.rise, 1)
        XCTAssertEqual(hc.fall, 4)
        let d = try XCTUnwrap(try parse(edit("offline_timeout: 5s", "health_check: {}")).pools["api"]?.healthCheck)
        XCTAssertEqual(d, HealthCheckConfig())
        XCTAssertEqual(d.expectStatus, Set(200..<400))
        assertError(edit("offline_timeout: 5s", "health_check: {path: healthz}"), key: "proxy.pools.api.health_check.path")
        assertError(edit("offline_timeout: 5s", "health_check: {expect_status: [2yy]}"), key: "proxy.pools.api.health_check.expect_status")
        assertError(edit("offline_timeout: 5s", "health_check: {interval: 1s, timeout: 2s}"), key: "proxy.pools.api.health_check.timeout")
        assertError(edit("offline_timeout: 5s", "health_check: {rise: 0}"), key: "proxy.pools.api.health_check.rise")
        assertError(edit("offline_timeout: 5s", "health_check: {patth: /}"), key: "proxy.pools.api.health_check.patth", contains: "unknown key")
    }

    func testHealthProbeReadsTheStatusLine() {
        XCTAssertEqual(HealthProbe.status(ofLine: ArraySlice("HTTP/1.1 204 No Content\r".utf8)), 204)
        XCTAssertEqual(HealthProbe.status(ofLine: ArraySlice("HTTP/1.0 503".utf8)), 503)
        XCTAssertNil(HealthProbe.status(ofLine: ArraySlice("SSH-2.0-OpenSSH".utf8)))
        XCTAssertNil(HealthProbe.status(ofLine: ArraySlice("HTTP/1.1 2000 x".utf8)))
    }

    func testAddressRanges() throws {
        let r = try AddressRange(parsing: "192.168.0.0/16", key: "k")
        XCTAssertTrue(r.contains("192.168.44.1"))
        XCTAssertTrue(r.contains("::ffff:192.168.1.1"))
        XCTAssertFalse(r.contains("192.169.0.1"))
        XCTAssertFalse(r.contains("not an ip"))
        let v6 = try AddressRange(parsing: "2001:db8::/32", key: "k")
        XCTAssertTrue(v6.contains("2001:db8:1::5"))
        XCTAssertFalse(v6.contains("2001:db9::5"))
        XCTAssertThrowsError(try AddressRange(parsing: "1.2.3", key: "k"))
        XCTAssertThrowsError(try AddressRange(parsing: "1::2::3", key: "k"))
    }
}
