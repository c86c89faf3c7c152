/// An eviction policy over integer keys. Not thread-safe: callers serialise
/// access (the file cache keeps one per shard). The server and the simulator
/// run the same implementations.
public protocol EvictionPolicy: AnyObject {
    var name: String { get }
    /// In units: entries (every size is 1) or bytes.
    var capacity: Int { get }
    var used: Int { get }
    var count: Int { get }
    func contains(_ key: UInt64) -> Bool
    /// A request for a resident key.
    func recordHit(_ key: UInt64)
    /// A request for a non-resident key of `size` units. Returns whether it was
    /// admitted and every key evicted to make room (the key itself is never listed).
    func recordMiss(_ key: UInt64, size: Int) -> (admitted: Bool, evicted: [UInt64])
    /// Removal from outside (purge, stale file); no-op when absent.
    func remove(_ key: UInt64)
    /// State to persist for a resident key.
    func state(of key: UInt64) -> PolicyEntryState?
    /// Rebuilds after a restart from entries in any order (the policy orders them
    /// by `sequence`). Returns the keys it could not keep, which the caller drops.
    func restore(_ entries: [(key: UInt64, size: Int, state: PolicyEntryState)]) -> [UInt64]
    /// State that belongs to no single entry (a frequency sketch, ghost keys,
    /// adaptive sizes, counters), for the cache to keep in the store's meta
    /// database. Empty when the policy has none.
    func exportGlobalState() -> [UInt8]
    /// Takes back what `exportGlobalState` produced; call it after `restore`.
    /// Returns false, and leaves the policy as it was, when `bytes` come from
    /// another kind of policy or capacity, or are damaged.
    @discardableResult
    func importGlobalState(_ bytes: [UInt8]) -> Bool
}

extension EvictionPolicy {
    public func exportGlobalState() -> [UInt8] { [] }
    @discardableResult
    public func importGlobalState(_ bytes: [UInt8]) -> Bool { bytes.isEmpty }
}
