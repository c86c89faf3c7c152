/// A count-min sketch of 4-bit counters (16 per 64-bit word, four counters
/// per key) estimating how often each key was seen recently, as in TinyLFU
/// and Caffeine. After `sampleSize` increments every counter is halved, so the
/// estimate follows the recent past. An optional doorkeeper (a Bloom filter)
/// absorbs each key's first occurrence, which keeps one-hit wonders out of
/// the counters.
struct FrequencySketch {
    private(set) var table: [UInt64]
    private(set) var doorkeeper: [UInt64]
    private(set) var additions = 0
    private(set) var sampleSize: Int
    let usesDoorkeeper: Bool

    private static let seeds: [UInt64] = [
        0xc3a5_c85c_97cb_3127, 0xb492_b66f_be98_f273, 0x9ae1_6a3b_2f90_404f, 0xcbf2_9ce4_8422_2325,
    ]
    private static let resetMask: UInt64 = 0x7777_7777_7777_7777
    private static let oneMask: UInt64 = 0x1111_1111_1111_1111

    /// Sized for about `entries` distinct keys in the cache.
    init(entries: Int, doorkeeper: Bool, samplesPerCounterWord: Int = 10) {
        let width = FrequencySketch.width(for: entries)
        table = Array(repeating: 0, count: width)
        usesDoorkeeper = doorkeeper
        self.doorkeeper = Array(repeating: 0, count: doorkeeper ? width : 0)
        sampleSize = samplesPerCounterWord * width
    }

    static func width(for entries: Int) -> Int {
        var w = 16
        while w < entries && w < 1 << 30 { w <<= 1 }
        return w
    }

    var width: Int { table.count }

    /// Keys are spread first, so dense ids and hashes behave alike.
    @inline(__always)
    private static func spread(_ key: UInt64) -> UInt64 {
        var z = key &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    @inline(__always)
    private func index(_ hash: UInt64, _ i: Int) -> Int {
        var h = (hash &+ FrequencySketch.seeds[i]) &* FrequencySketch.seeds[i]
        h &+= h >> 32
        return Int(truncatingIfNeeded: h) & (table.count - 1)
    }

    /// The estimated count of `key` (0...15, or 16 with the doorkeeper).
    func frequency(_ key: UInt64) -> Int {
        let hash = FrequencySketch.spread(key)
        let start = Int(hash & 3) << 2
        var m = 15
        for i in 0..<4 {
            let shift = UInt64((start + i) << 2)
            m = min(m, Int((table[index(hash, i)] >> shift) & 0xf))
        }
        if usesDoorkeeper && doorkeeperContains(hash) { m += 1 }
        return m
    }

    mutating func increment(_ key: UInt64) {
        let hash = FrequencySketch.spread(key)
        if usesDoorkeeper && !doorkeeperInsert(hash) {
            countAddition()
            return
        }
        let start = Int(hash & 3) << 2
        var added = false
        for i in 0..<4 {
            let idx = index(hash, i)
            let shift = UInt64((start + i) << 2)
            let mask: UInt64 = 0xf << shift
            if table[idx] & mask != mask {
                table[idx] &+= 1 << shift
                added = true
            }
        }
        if added { countAddition() }
    }

    private mutating func countAddition() {
        additions += 1
        if additions >= sampleSize { reset() }
    }

    /// Halves every counter and clears the doorkeeper.
    mutating func reset() {
        var odd = 0
        for i in table.indices {
            odd += (table[i] & FrequencySketch.oneMask).nonzeroBitCount
            table[i] = (table[i] >> 1) & FrequencySketch.resetMask
        }
        additions = max(0, (additions - odd / 4) / 2)
        for i in doorkeeper.indices { doorkeeper[i] = 0 }
    }

    // MARK: - Doorkeeper: two probes into a bit array

    @inline(__always)
    private func doorkeeperBits(_ hash: UInt64) -> (Int, Int) {
        let bits = doorkeeper.count * 64 - 1
        let a = Int(truncatingIfNeeded: hash >> 20) & bits
        let b = Int(truncatingIfNeeded: (hash >> 42) ^ (hash << 7)) & bits
        return (a, b)
    }

    private func doorkeeperContains(_ hash: UInt64) -> Bool {
        let (a, b) = doorkeeperBits(hash)
        return doorkeeper[a >> 6] & (1 << UInt64(a & 63)) != 0 && doorkeeper[b >> 6] & (1 << UInt64(b & 63)) != 0
    }

    /// Sets the key's bits; returns whether they were all set already.
    private mutating func doorkeeperInsert(_ hash: UInt64) -> Bool {
        let (a, b) = doorkeeperBits(hash)
        let present = doorkeeperContains(hash)
        doorkeeper[a >> 6] |= 1 << UInt64(a & 63)
        doorkeeper[b >> 6] |= 1 << UInt64(b & 63)
        return present
    }

    // MARK: - Persistence

    func encode(into w: inout StateWriter) {
        w.put(table.count)
        w.put(additions)
        w.put(table)
        w.put(doorkeeper)
    }

    /// Nil when the encoded sketch does not match this one's shape.
    static func decode(from r: inout StateReader, doorkeeper: Bool, samplesPerCounterWord: Int) -> FrequencySketch? {
        guard let width = r.int(), width >= 16, width <= 1 << 30, width & (width - 1) == 0,
              let additions = r.int(), additions >= 0,
              let table = r.uint64s(limit: width), table.count == width,
              let door = r.uint64s(limit: width), door.count == (doorkeeper ? width : 0)
        else { return nil }
        var s = FrequencySketch(entries: width, doorkeeper: doorkeeper, samplesPerCounterWord: samplesPerCounterWord)
        s.table = table
        s.doorkeeper = door
        s.additions = additions
        return s
    }
}
