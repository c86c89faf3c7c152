/// A consistent-hash ring with virtual nodes. Points are placed by hashing the
/// backend's address (not its index), so removing a backend from the list moves
/// only the keys it owned; the others keep their backend.
public struct HashRing: Sendable {
    public static let defaultVirtualNodes = 160

    /// (point, node index), sorted by point.
    private let points: [(hash: UInt64, node: Int)]
    public let nodeCount: Int

    public init(nodes: [String], virtualNodes: Int = HashRing.defaultVirtualNodes) {
        var points: [(hash: UInt64, node: Int)] = []
        points.reserveCapacity(nodes.count * virtualNodes)
        for (i, name) in nodes.enumerated() {
            for v in 0..<virtualNodes {
                points.append((StableHash.hash("\(name)#\(v)"), i))
            }
        }
        points.sort { $0.hash < $1.hash || ($0.hash == $1.hash && $0.node < $1.node) }
        self.points = points
        self.nodeCount = nodes.count
    }

    /// The node owning `key`: the first usable node clockwise from the key's
    /// point (unusable ones are skipped, so their keys spread to successors).
    public func node(for key: UInt64, usable: (Int) -> Bool) -> Int? {
        guard !points.isEmpty else { return nil }
        var lo = 0, hi = points.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if points[mid].hash < key { lo = mid + 1 } else { hi = mid }
        }
        // Nodes already found unusable: a bitmask for small pools (no allocation
        // per request), an array beyond 64 backends.
        var mask: UInt64 = 0
        var checked = nodeCount > 64 ? [Bool](repeating: false, count: nodeCount) : []
        var seen = 0
        var i = lo == points.count ? 0 : lo
        for _ in 0..<points.count {
            let node = points[i].node
            let done = nodeCount > 64 ? checked[node] : mask & (1 << UInt64(node)) != 0
            if !done {
                if usable(node) { return node }
                if nodeCount > 64 { checked[node] = true } else { mask |= 1 << UInt64(node) }
                seen += 1
                if seen == nodeCount { return nil }
            }
            i += 1
            if i == points.count { i = 0 }
        }
        return nil
    }
}
