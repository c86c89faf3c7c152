import CapuchinServer
import HTTPCore

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

    /// Parses the `proxy` section; every key of it must be known. `defaultNodeID`
    /// is used when `node_id` is absent (e.g. the host name). Throws
    /// `ConfigError` naming the file, line and key: unknown keys, wrong types,
    /// invalid regexes, routes naming undefined pools, bad backends.
    public static func parse(_ top: ConfigSection, defaultNodeID: String) throws -> ProxyConfig {
        let nodeID = try top.string("node_id", default: defaultNodeID)
        guard FieldSyntax.isToken(nodeID) else {
            throw top.error("node_id", "must be a non-empty token (letters, digits, -._)")
        }

        var pools: [String: PoolConfig] = [:]
        let poolsSection = try top.section("pools")
        for name in poolsSection.keys {
            let ps = try poolsSection.section(name)
            pools[name] = try PoolConfig(name: name, section: ps)
            try ps.finish()
        }
        try poolsSection.finish()

        var routes: [ProxyRoute] = []
        for s in try top.sectionList("routes") {
            guard let pattern = try s.optionalString("match") else { throw s.error("match", "missing") }
            guard let pool = try s.optionalString("pool") else { throw s.error("pool", "missing") }
            guard pools[pool] != nil else { throw s.error("pool", "no pool named \"\(pool)\" under \(top.path).pools") }
            routes.append(try s.wrap { try ProxyRoute(pattern: pattern, pool: pool, key: "match") })
            try s.finish()
        }
        if !pools.isEmpty && routes.isEmpty {
            throw top.error("routes", "pools are defined but no route sends requests to them")
        }

        let cacheSection = try top.section("cache")
        let cache = try ProxyCacheConfig(section: cacheSection)
        try cacheSection.finish()
        try top.finish()
        return ProxyConfig(routes: routes, pools: pools, cache: cache, nodeID: nodeID)
    }

    /// The route for `path`: the first whose pattern matches.
    public func route(for path: String) -> ProxyRoute? { routes.first { $0.matches(path) } }
}
