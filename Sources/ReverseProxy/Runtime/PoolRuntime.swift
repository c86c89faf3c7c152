import CapuchinSystem
import HTTPCore

/// A pool as the running proxy uses it: shared backend state and balancer,
/// the request and response rewriters, and each backend's resolved address.
final class PoolRuntime: Sendable {
    let pool: BackendPool
    let builder: UpstreamRequestBuilder
    let responseBuilder: ClientResponseBuilder
    /// Address literal per backend (resolved once at start-up); nil: unresolvable.
    let resolvedHosts: [String?]

    init(config: PoolConfig, loopGuard: LoopGuard, log: (String) -> Void) {
        pool = BackendPool(config: config, isSelf: loopGuard.isSelf)
        builder = UpstreamRequestBuilder(pool: config, loopGuard: loopGuard)
        responseBuilder = ClientResponseBuilder(loopGuard: loopGuard)
        resolvedHosts = config.backends.map { b in
            let r = Socket.resolve(b.host)
            if r == nil { log("proxy: pool \(config.name): backend \(b) does not resolve; it counts as down") }
            return r
        }
        for b in pool.backends where b.isSelf {
            log("proxy: pool \(config.name): backend \(b.address) is this server's own address; it is never used (loop)")
        }
    }

    /// What the pool's balancer is given for `request`: the hashed key for
    /// consistent hashing, the path (unread) for the others, so they cost
    /// no key building.
    func balanceKey(for request: HTTPRequest) -> String {
        pool.config.balance == .consistentHash ? pool.config.consistentHash.key(for: request) : request.path
    }
}
