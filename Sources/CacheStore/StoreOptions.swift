import Foundation

/// How the store trades durability for speed.
public enum Durability: String, Sendable, CaseIterable {
    /// fsync on every commit: a committed batch survives power loss.
    case sync
    /// Commits skip the metadata fsync (MDB_NOMETASYNC) and the writer syncs
    /// once a second: a process crash (kill -9) loses nothing committed; a power
    /// loss or kernel crash may undo the last second of commits, never corrupt.
    case batched
}

/// Options for opening a store.
public struct StoreOptions: Sendable {
    /// Initial map size (sparse: disk use follows the data).
    public var mapSize: Int = 1 << 30
    /// The map doubles on MDB_MAP_FULL up to this size.
    public var maxMapSize: Int = 64 << 30
    /// How long queued operations wait before the writer commits them.
    public var commitIntervalMillis: Int = 100
    /// Commit early once this many operations are queued.
    public var maxBatch: Int = 10_000
    public var durability: Durability = .batched
    /// Open read-only (cachedump): never creates, never writes.
    public var readOnly: Bool = false

    /// The defaults, with `mapSize` and `maxMapSize` taken from the environment
    /// variables `CAPUCHIN_STORE_MAP_SIZE` and `CAPUCHIN_STORE_MAX_MAP_SIZE`
    /// when set (bytes, or with a k/m/g suffix): an operator's knob for every
    /// store in the process, and how the fault tests make the map fill up.
    public init() {
        let env = ProcessInfo.processInfo.environment
        if let v = env["CAPUCHIN_STORE_MAP_SIZE"].flatMap(Self.parseSize) { mapSize = v }
        if let v = env["CAPUCHIN_STORE_MAX_MAP_SIZE"].flatMap(Self.parseSize) { maxMapSize = max(v, 32 << 10) }
        mapSize = max(32 << 10, min(mapSize, maxMapSize))
    }

    /// "65536", "64k", "2m", "1g" -> bytes; nil when not a size.
    static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        if let u = t.last.flatMap({ units[$0] }) {
            return Int(t.dropLast()).flatMap { $0 > 0 ? $0 * u : nil }
        }
        return Int(t).flatMap { $0 > 0 ? $0 : nil }
    }
}
