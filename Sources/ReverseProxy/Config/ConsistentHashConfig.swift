import CapuchinServer
import HTTPCore

/// How `balance: consistent-hash` places requests: what is hashed, how many
/// points each backend has on the ring, and the bound on a backend's load.
public struct ConsistentHashConfig: Sendable, Equatable {
    /// What a request is hashed by.
    public enum HashKey: String, Sendable, CaseIterable {
        /// scheme://host[:port]/path?query, as the proxy cache's primary key
        /// (without its `ignore_query`/`sort_query` options): in a tier of
        /// caches each stored response has one home node.
        case cacheKey = "cache_key"
        /// The request target (path and query) without the host.
        case uri
        /// The path alone (every query string of a path on one backend).
        case path
    }

    public var hashKey: HashKey
    /// Points per backend on the ring: more points, a more even share
    /// (about 1/sqrt(points) of spread) for a larger ring to search.
    public var virtualNodes: Int
    /// The load bound `c` of "consistent hashing with bounded loads"
    /// (Mirrokni, Thorup, Zadimoghaddam), in percent (125 = 1.25): a backend
    /// takes a request only while its requests in flight stay within
    /// ceil(c x the average), otherwise the next backend clockwise does. 0: off.
    public var balanceFactorPercent: Int

    public static let defaultBalanceFactorPercent = 125

    public init(hashKey: HashKey = .cacheKey, virtualNodes: Int = HashRing.defaultVirtualNodes,
                balanceFactorPercent: Int = ConsistentHashConfig.defaultBalanceFactorPercent) {
        self.hashKey = hashKey
        self.virtualNodes = virtualNodes
        self.balanceFactorPercent = balanceFactorPercent
    }

    /// The string hashed for `request`.
    public func key(for request: HTTPRequest) -> String {
        switch hashKey {
        case .cacheKey: return CacheKey().primary(for: request)
        case .uri: return UpstreamRequestBuilder.originForm(request.target)
        case .path: return request.path
        }
    }

    /// Reads `hash_key`, `virtual_nodes` and `balance_factor` from a pool's
    /// section; they are refused with any other `balance` (they would do nothing).
    init(section s: ConfigSection, balance: BalanceAlgorithm) throws {
        let keys = ["hash_key", "virtual_nodes", "balance_factor"]
        if balance != .consistentHash, let key = keys.first(where: { s.contains($0) }) {
            throw s.error(key, "only used with balance: consistent-hash")
        }
        let defaults = ConsistentHashConfig()
        let hashKey = HashKey(rawValue: try s.choice("hash_key", HashKey.allCases.map(\.rawValue), default: defaults.hashKey.rawValue))!
        let points = try s.int("virtual_nodes", default: defaults.virtualNodes, range: 1...4096)
        var percent = defaults.balanceFactorPercent
        if let text = try s.optionalString("balance_factor") {
            guard let c = Double(text), c == 0 || (1...100).contains(c) else {
                throw s.error("balance_factor", "expected 0 (no bound) or a number from 1 to 100 (e.g. 1.25), got '\(text)'")
            }
            percent = Int((c * 100).rounded())
        }
        self.init(hashKey: hashKey, virtualNodes: points, balanceFactorPercent: percent)
    }
}
