import XCTest
@testable import ReverseProxy

final class ProxyConfigTests: XCTestCase {
    let valid: [String: Any] = [
        "node_id": "n1",
        "routes": [["match": "^/api/", "pool": "api"], ["match": "\\.php$", "pool": "php"], ["match": "^/", "pool": "php"]],
        "pools": [
            "api": ["backends": ["127.0.0.1:9001", "[::1]:9002"], "balance": "least-connections", "attempts": 3,
                    "offline_timeout": "5s", "connect_timeout": "500ms", "host_header": "backend",
                    "trusted_proxies": ["10.0.0.0/8", "::1"]] as [String: Any],
            "php": ["backends": ["app:8080"], "host_header": "fixed", "host_header_value": "internal.example"] as [String: Any],
        ] as [String: Any],
        "cache": ["dir": "/var/cache/capuchin", "default_ttl": "2m", "grace": 30, "max_object_size": "8m"] as [String: Any],
    ]

    func testParsesAValidConfig() throws {
        let c = try ProxyConfig.parse(valid, defaultNodeID: "host")
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
        XCTAssertTrue(c.cache.enabled)
    }

    func testFirstMatchingRouteWins() throws {
        let c = try ProxyConfig.parse(valid, defaultNodeID: "host")
        XCTAssertEqual(c.route(for: "/api/x.php")?.pool, "api")
        XCTAssertEqual(c.route(for: "/index.php")?.pool, "php")
        XCTAssertEqual(c.route(for: "/static/a.css")?.pattern, "^/")
    }

    func testNodeIDDefaults() throws {
        var v = valid
        v.removeValue(forKey: "node_id")
        XCTAssertEqual(try ProxyConfig.parse(v, defaultNodeID: "web-3").nodeID, "web-3")
    }

    private func assertError(_ values: [String: Any], key: String, contains text: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ProxyConfig.parse(values, defaultNodeID: "h"), file: file, line: line) { error in
            guard let e = error as? ProxyConfigError else { return XCTFail("wrong error \(error)", file: file, line: line) }
            XCTAssertEqual(e.key, key, "\(e)", file: file, line: line)
            XCTAssertTrue(text.isEmpty || e.message.contains(text), e.message, file: file, line: line)
        }
    }

    private func withPool(_ name: String, _ key: String, _ value: Any) -> [String: Any] {
        var v = valid
        var pools = v["pools"] as! [String: Any]
        var p = pools[name] as! [String: Any]
        p[key] = value
        pools[name] = p
        v["pools"] = pools
        return v
    }

    func testErrorsNameTheKey() {
        var v = valid
        v["rutes"] = []
        assertError(v, key: "proxy.rutes", contains: "unknown key")

        v = valid
        v["routes"] = [["match": "^/(unclosed", "pool": "api"]]
        assertError(v, key: "proxy.routes[0].match", contains: "invalid regular expression")

        v = valid
        v["routes"] = [["match": "^/", "pool": "nope"]]
        assertError(v, key: "proxy.routes[0].pool", contains: "no pool named")

        assertError(withPool("api", "backends", ["127.0.0.1"]), key: "proxy.pools.api.backends[0]", contains: "missing port")
        assertError(withPool("api", "backends", ["h:70000"]), key: "proxy.pools.api.backends[0]", contains: "1...65535")
        assertError(withPool("api", "backends", []), key: "proxy.pools.api.backends")
        assertError(withPool("api", "backends", ["a:1", "a:1"]), key: "proxy.pools.api.backends", contains: "twice")
        assertError(withPool("api", "balance", "random"), key: "proxy.pools.api.balance", contains: "unknown algorithm")
        assertError(withPool("api", "attempts", 0), key: "proxy.pools.api.attempts")
        assertError(withPool("api", "connect_timeout", "soon"), key: "proxy.pools.api.connect_timeout", contains: "duration")
        assertError(withPool("api", "connect_timeout", 0), key: "proxy.pools.api.connect_timeout", contains: "greater than zero")
        assertError(withPool("api", "trusted_proxies", ["10.0.0.0/33"]), key: "proxy.pools.api.trusted_proxies[0]")
        assertError(withPool("api", "host_header", "fixed"), key: "proxy.pools.api.host_header_value")
        assertError(withPool("api", "host_header", "client"), key: "proxy.pools.api.host_header")
        assertError(withPool("api", "weight", 2), key: "proxy.pools.api.weight", contains: "unknown key")

        v = valid
        v["cache"] = ["dir": "relative/dir"]
        assertError(v, key: "proxy.cache.dir", contains: "absolute")
        v["cache"] = ["dir": "/c", "max_object_size": "lots"]
        assertError(v, key: "proxy.cache.max_object_size")
        v["cache"] = ["dir": "/c", "durability": "maybe"]
        assertError(v, key: "proxy.cache.durability")
        v = valid
        v["node_id"] = "has space"
        assertError(v, key: "proxy.node_id")
    }

    func testAcceptsAnyHashableMappingsAsYamsGives() throws {
        let pools: [AnyHashable: Any] = ["p": ["backends": ["127.0.0.1:1"]] as [AnyHashable: Any]]
        let c = try ProxyConfig.parse(["pools": pools, "routes": [["match": "^/", "pool": "p"] as [AnyHashable: Any]]], defaultNodeID: "h")
        XCTAssertEqual(c.pools["p"]?.backends.first?.port, 1)
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
