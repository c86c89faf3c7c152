/// Maps byte-string keys to dense ids (0, 1, 2, ... in first-seen order) with
/// an open-addressing table over one byte arena: no allocation per key
/// beyond amortised array growth.
struct KeyInterner {
    private var arena: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int] = []
    private var hashes: [UInt64] = []
    /// Id + 1 per bucket; 0 is empty.
    private var buckets: [UInt32] = Array(repeating: 0, count: 1024)

    var count: Int { offsets.count }

    /// The id of `key`, assigning the next one when the key is new.
    mutating func id(of key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let h = KeyInterner.hash(key)
        let mask = buckets.count - 1
        var b = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = buckets[b]
            if e == 0 { break }
            let i = Int(e - 1)
            if hashes[i] == h && lengths[i] == key.count && equal(i, key) { return UInt64(i) }
            b = (b + 1) & mask
        }
        let id = offsets.count
        offsets.append(arena.count)
        lengths.append(key.count)
        hashes.append(h)
        arena.append(contentsOf: key)
        buckets[b] = UInt32(id + 1)
        if offsets.count * 2 > buckets.count { grow() }
        return UInt64(id)
    }

    private func equal(_ i: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        arena.withUnsafeBufferPointer { a in
            let o = offsets[i]
            for j in 0..<key.count where a[o + j] != key[j] { return false }
            return true
        }
    }

    private mutating func grow() {
        var next = [UInt32](repeating: 0, count: buckets.count * 2)
        let mask = next.count - 1
        for i in 0..<offsets.count {
            var b = Int(truncatingIfNeeded: hashes[i]) & mask
            while next[b] != 0 { b = (b + 1) & mask }
            next[b] = UInt32(i + 1)
        }
        buckets = next
    }

    /// 64-bit multiply-mix over 8-byte words.
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(key.count)
        var i = 0
        while i + 8 <= key.count {
            var w: UInt64 = 0
            for j in 0..<8 { w |= UInt64(key[i + j]) << UInt64(8 * j) }
            h = (h ^ w) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
            i += 8
        }
        var w: UInt64 = 0
        var shift: UInt64 = 0
        while i < key.count {
            w |= UInt64(key[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ w) &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 29
        h = h &* 0xff51_afd7_ed55_8ccd
        return h ^ (h >> 32)
    }
}
