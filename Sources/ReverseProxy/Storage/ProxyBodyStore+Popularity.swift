import CachePolicies
import CapuchinSystem

/// The eviction policy's state of each stored response, kept in the index as
/// the file cache keeps its own (`.touch` of the record's policy state and hit
/// count; the policy's global state, its frequency sketch, as a blob beside the
/// records): after a restart, clean or kill -9, eviction keeps the popular
/// responses rather than the most recently inserted.
extension ProxyBodyStore {
    /// How often one response's hits write its policy state: the index's
    /// commit interval (more often would be overwritten in the same commit).
    static let touchIntervalNanos: UInt64 = 100_000_000

    /// The index blob holding the policy's global state.
    static let policyBlobName = "proxy.policy"

    /// A stored response was used: tells the eviction policy and, at most once
    /// per touch interval, writes its state and hits to the index.
    public func recordHit(_ object: CachedObject) {
        guard limit != nil else { return }
        let h = object.policyKey
        let due = object.hits.hit(now: Clock.monotonicNanos(), every: Self.touchIntervalNanos)
        let saved = state.withLock { st -> PolicyEntryState? in
            guard let policy = st.policy, policy.contains(h) else { return nil }
            policy.recordHit(h)
            return due == nil ? nil : policy.state(of: h)
        }
        if let saved, let due {
            index.touch(key: object.entry.key, hits: due, lastAccessNanos: Clock.wallNanos(), policy: saved)
        }
    }

    /// The policy's state of a stored response (nil without a limit, or not resident).
    func policyState(ofStoreKey key: String) -> PolicyEntryState? {
        state.withLock { $0.policy?.state(of: Self.policyKey(key)) }
    }

    /// The state a loaded entry is restored with: its saved one, or for a
    /// record written before states were kept its insertion time (oldest
    /// first), in the least protected place the policy has.
    static func restoredState(of entry: ProxyIndexEntry) -> PolicyEntryState {
        entry.policy ?? PolicyEntryState(word: .max, sequence: UInt64(max(0, entry.insertedAtNanos)))
    }

    /// The policy's global state saved by the last clean stop, given back
    /// after `restore` (refused by the policy when it is of another kind or
    /// capacity). An unreadable blob only costs the sketch, logged.
    func restoreGlobalPolicyState(_ policy: any EvictionPolicy) {
        do {
            if let blob = try index.loadBlob(Self.policyBlobName), !policy.importGlobalState(blob) {
                log("proxy cache: the saved eviction state is of another policy or capacity; starting it afresh")
            }
        } catch {
            log("proxy cache: reading the saved eviction state failed: \(error)")
        }
    }

    /// Writes every stored response's policy state and unsent hits, and the
    /// policy's global state, to the index (server stop; the caller flushes).
    public func persistPolicyState() {
        guard limit != nil else { return }
        waitUntilLoaded()
        let (touches, blob) = state.withLock { st -> ([(String, UInt64, PolicyEntryState)], [UInt8]) in
            guard let policy = st.policy else { return ([], []) }
            var touches: [(String, UInt64, PolicyEntryState)] = []
            touches.reserveCapacity(st.keys.count)
            for variants in st.table.values {
                for o in variants {
                    if let s = policy.state(of: o.policyKey) { touches.append((o.entry.key, o.hits.takePending(), s)) }
                }
            }
            return (touches, policy.exportGlobalState())
        }
        let now = Clock.wallNanos()
        for (key, hits, s) in touches { index.touch(key: key, hits: hits, lastAccessNanos: now, policy: s) }
        index.saveBlob(Self.policyBlobName, blob)
    }
}
