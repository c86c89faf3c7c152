/// The reverse proxy's whole configuration: routes, pools and the cache.
public struct ProxyConfig: Sendable {
    /// In config order; the first match wins.
    public var routes: [ProxyRoute]
    public var pools: [String: PoolConfig]
    public var cache: ProxyCacheConfig
    /// Names this server in `Via` (`1.1 capuchin-<nodeID>`), for loop detection.
    public var nodeID: String

    public init(routes: [ProxyRoute], pools: [String: PoolConfig], cache: ProxyCacheConfig = ProxyCacheConfig(), nodeID: String) {
        self.routes = routes
        self.pools = pools
        self.cache = cache
        self.nodeID = nodeID
    }

    static let keys: Set<String> = ["routes", "pools", "cache", "node_id"]
    static let routeKeys: Set<String> = ["match", "pool"]

    /// Parses the `proxy` section as Yams yields it. `defaultNodeID` is used
    /// when `node_id` is absent (e.g. the host name).
    /// Throws `ProxyConfigError` naming the offending key: unknown keys, wrong
    /// types, invalid regexes, routes naming undefined pools, bad backends.
    public static func parse(_ values: [String: Any], path: String = "proxy", defaultNodeID: String) throws -> ProxyConfig {
        let top = try ConfigSection(path: path, values: values, allowedKeys: keys)
        let nodeID = try top.string("node_id") ?? defaultNodeID
        guard FieldSyntax.isToken(nodeID) else {
            throw top.error("node_id", "must be a non-empty token (letters, digits, -._)")
        }

        var pools: [String: PoolConfig] = [:]
        if let v = top.values["pools"] {
            guard let map = ConfigSection.mapping(v) else { throw top.error("pools", "expected a mapping of pool name to pool") }
            for name in map.keys.sorted() {
                let key = top.keyPath("pools.\(name)")
                guard let poolMap = ConfigSection.mapping(map[name]!) else { throw ProxyConfigError(key: key, message: "expected a mapping") }
                pools[name] = try PoolConfig(name: name, section: ConfigSection(path: key, values: poolMap, allowedKeys: PoolConfig.keys))
            }
        }

        var routes: [ProxyRoute] = []
        if let v = top.values["routes"] {
            guard let list = v as? [Any] else { throw top.error("routes", "expected a list of {match, pool}") }
            for (i, item) in list.enumerated() {
                let key = top.keyPath("routes[\(i)]")
                guard let map = ConfigSection.mapping(item) else { throw ProxyConfigError(key: key, message: "expected a mapping with match and pool") }
                let s = try ConfigSection(path: key, values: map, allowedKeys: routeKeys)
                guard let pattern = try s.string("match") else { throw s.error("match", "missing") }
                guard let pool = try s.string("pool") else { throw s.error("pool", "missing") }
                guard pools[pool] != nil else { throw s.error("pool", "no pool named \"\(pool)\" under \(top.keyPath("pools"))") }
                routes.append(try ProxyRoute(pattern: pattern, pool: pool, key: s.keyPath("match")))
            }
        }
        if !pools.isEmpty && routes.isEmpty {
            throw top.error("routes", "pools are defined but no route sends requests to them")
        }

        let cache = try top.section("cache", allowedKeys: ProxyCacheConfig.keys).map { try ProxyCacheConfig(section: $0) }
            ?? ProxyCacheConfig()
        return ProxyConfig(routes: routes, pools: pools, cache: cache, nodeID: nodeID)
    }

    /// The route for `path`: the first whose pattern matches.
    public func route(for path: String) -> ProxyRoute? { routes.first { $0.matches(path) } }
}
