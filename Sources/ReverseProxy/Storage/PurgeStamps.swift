/// Purges by tag or by key prefix recorded as stamps (what Fastly's purge by
/// surrogate key and Varnish's ban lurker do): a purge writes "tag T (or keys
/// starting with P) stored before time S are gone (hard) or stale (soft)" and
/// answers; every lookup checks its response against the stamps, so the purge
/// is in force at once for every client, and the entries themselves are
/// removed or marked later, a small batch at a time (`ProxyBodyStore`'s
/// purge lurker). A stamp is dropped once the lurker has dealt with every
/// response it covered. The stamps are persisted (an index blob, committed
/// before the purge answers), so an acknowledged purge holds after kill -9
/// even when the lurker had not finished.
struct PurgeStamps: Sendable, Equatable {
    /// When a tag or prefix was last purged; 0: not.
    struct Stamp: Sendable, Equatable {
        var hardNanos: Int64 = 0
        var softNanos: Int64 = 0
        var isEmpty: Bool { hardNanos == 0 && softNanos == 0 }
    }

    /// What the stamps make of a stored response.
    enum Verdict: Equatable {
        case none
        /// Stale as of this soft purge (revalidated on its next use).
        case soft(Int64)
        /// Gone: a miss.
        case hard
    }

    /// A purge the lurker still has to carry out.
    struct Target: Sendable, Hashable {
        enum Kind: UInt8, Sendable { case tag = 0, prefix = 1 }
        var kind: Kind
        var name: String
    }

    private(set) var stamps: [Target: Stamp] = [:]
    /// Prefix stamps alone (few: each lives until its lurker is done), checked by `hasPrefix`.
    private var prefixes: [(prefix: String, stamp: Stamp)] = []
    private var tagged = 0

    /// No purge outstanding: the lookup's one check.
    var isEmpty: Bool { stamps.isEmpty }

    /// Records a purge of `target` at `nanos` (a later purge of the same kind raises the stamp).
    mutating func record(_ target: Target, soft: Bool, at nanos: Int64) {
        var s = stamps[target] ?? Stamp()
        if soft { s.softNanos = max(s.softNanos, nanos) } else { s.hardNanos = max(s.hardNanos, nanos) }
        set(target, s)
    }

    /// The lurker is done with `target`'s purge stamped `nanos`: the stamp goes,
    /// unless a later purge of the same kind raised it meanwhile. Returns whether it changed.
    @discardableResult
    mutating func settle(_ target: Target, soft: Bool, at nanos: Int64) -> Bool {
        guard var s = stamps[target] else { return false }
        if soft, s.softNanos == nanos { s.softNanos = 0 } else if !soft, s.hardNanos == nanos { s.hardNanos = 0 } else { return false }
        set(target, s)
        return true
    }

    private mutating func set(_ target: Target, _ s: Stamp) {
        let had = stamps[target] != nil
        stamps[target] = s.isEmpty ? nil : s
        let has = !s.isEmpty
        if target.kind == .tag {
            tagged += (has ? 1 : 0) - (had ? 1 : 0)
        } else {
            prefixes = stamps.compactMap { $0.key.kind == .prefix ? ($0.key.name, $0.value) : nil }
        }
    }

    /// What the stamps make of the response stored under `key` with `tags`,
    /// last stored or validated by the origin at `validatedAtNanos`. A hard
    /// stamp wins over a soft one; among soft ones the latest counts.
    func verdict(key: String, tags: [String], validatedAtNanos t: Int64) -> Verdict {
        var soft: Int64 = 0
        if tagged > 0 {
            for tag in tags {
                guard let s = stamps[Target(kind: .tag, name: tag)] else { continue }
                if s.hardNanos > t { return .hard }
                if s.softNanos > t { soft = max(soft, s.softNanos) }
            }
        }
        for (p, s) in prefixes where key.hasPrefix(p) {
            if s.hardNanos > t { return .hard }
            if s.softNanos > t { soft = max(soft, s.softNanos) }
        }
        return soft > 0 ? .soft(soft) : .none
    }

    // MARK: persistence

    /// The blob the stamps are saved in beside the index's entries.
    static let blobName = "proxy.purge-stamps"
    private static let version: UInt8 = 1

    /// Version byte, then per stamp: kind, name length (UInt32 LE), name, hard and soft nanos (Int64 LE).
    func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.version]
        for (target, s) in stamps.sorted(by: { ($0.key.kind.rawValue, $0.key.name) < ($1.key.kind.rawValue, $1.key.name) }) {
            out.append(target.kind.rawValue)
            let name = Array(target.name.utf8)
            Self.append(UInt64(name.count), bytes: 4, to: &out)
            out += name
            Self.append(UInt64(bitPattern: s.hardNanos), bytes: 8, to: &out)
            Self.append(UInt64(bitPattern: s.softNanos), bytes: 8, to: &out)
        }
        return out
    }

    /// The stamps of `encoded()`; nil when the bytes are not such a blob.
    init?(encoded bytes: [UInt8]) {
        guard bytes.first == Self.version else { return nil }
        var i = 1
        func read(_ n: Int) -> UInt64? {
            guard bytes.count - i >= n else { return nil }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < bytes.count {
            guard let kind = Target.Kind(rawValue: bytes[i]) else { return nil }
            i += 1
            guard let n = read(4), bytes.count - i >= Int(n) else { return nil }
            let name = String(decoding: bytes[i..<i + Int(n)], as: UTF8.self)
            i += Int(n)
            guard let hard = read(8), let soft = read(8) else { return nil }
            let s = Stamp(hardNanos: Int64(bitPattern: hard), softNanos: Int64(bitPattern: soft))
            if !s.isEmpty { set(Target(kind: kind, name: name), s) }
        }
    }

    init() {}

    private static func append(_ v: UInt64, bytes n: Int, to out: inout [UInt8]) {
        for k in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    static func == (a: PurgeStamps, b: PurgeStamps) -> Bool { a.stamps == b.stamps }
}
