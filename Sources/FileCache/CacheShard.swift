import CachePolicies
import CapuchinSystem

/// One slice of the index: its own lock, dictionary and policy, so workers
/// hitting different shards never contend. Keys are 64-bit hashes; the entry
/// holds the full key, compared on every lookup.
final class CacheShard: Sendable {
    struct State {
        /// By key hash. Not a Dictionary: it hashed the key, already a hash,
        /// again with SipHash on every hit (see `HashKeyedTable`).
        var entries = HashKeyedTable<CacheEntry>()
        let policy: any EvictionPolicy
        /// Sum of the resident files' sizes.
        var bytes = 0
    }

    let state: Lock<State>
    /// `State.policy`, used only under the lock: in a `let` of the shard it is
    /// borrowed by a hit (from the state it was retained and released).
    /// Sendable as the state is: only reached under its lock.
    nonisolated(unsafe) let policy: any EvictionPolicy

    // Isolated: shards next to each other in memory would otherwise share
    // cache lines, and workers hitting different shards would contend after all.
    init(policy: any EvictionPolicy) {
        state = Lock(State(policy: policy), isolated: true)
        self.policy = policy
    }
}

extension CacheShard.State {
    /// Removes `entry` if it is still the resident one for its hash (`hash`:
    /// `entry.hash`, when the caller has it); returns whether it was.
    mutating func remove(_ entry: CacheEntry, hash: UInt64? = nil) -> Bool {
        let h = hash ?? entry.hash
        guard let e = entries[h], e === entry else { return false }
        entries[h] = nil
        policy.remove(h)
        bytes -= entry.identity.size
        return true
    }
}
