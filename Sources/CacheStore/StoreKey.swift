/// Maps a cache key to its LMDB key. Keys up to 511 bytes (LMDB's limit) are
/// stored as they are; longer ones under "#h:" and a 128-bit hash, with the full
/// key kept in the record and compared on read.
enum StoreKey {
    static let maxDirect = 511
    static let hashedPrefix: [UInt8] = Array("#h:".utf8)

    /// Whether `key` is its own LMDB key (not stored under a hash).
    static func isDirect(_ key: String) -> Bool {
        key.utf8.count <= maxDirect && !key.utf8.starts(with: hashedPrefix)
    }

    static func lmdbKey(_ key: String) -> [UInt8] {
        let bytes = Array(key.utf8)
        if isDirect(key) { return bytes }
        let (a, b) = Murmur3.hash128(bytes)
        return hashedPrefix + Array(hex(a).utf8) + Array(hex(b).utf8)
    }

    static func isHashed(_ lmdbKey: UnsafeRawBufferPointer) -> Bool {
        lmdbKey.count >= 3 && lmdbKey[0] == 0x23 && lmdbKey[1] == 0x68 && lmdbKey[2] == 0x3A
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// MurmurHash3 x64 128-bit (public domain, Austin Appleby).
enum Murmur3 {
    static func hash128(_ data: [UInt8], seed: UInt64 = 0x9747_b28c) -> (UInt64, UInt64) {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5, c2: UInt64 = 0x4cf5_ad43_2745_937f
        var h1 = seed, h2 = seed
        let blocks = data.count / 16
        func word(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(data[i + $1]) << (8 * $1) } }
        func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        func fmix(_ k: UInt64) -> UInt64 {
            var k = k
            k ^= k >> 33; k = k &* 0xff51_afd7_ed55_8ccd; k ^= k >> 33; k = k &* 0xc4ce_b9fe_1a85_ec53; k ^= k >> 33
            return k
        }
        for i in 0..<blocks {
            var k1 = word(i * 16), k2 = word(i * 16 + 8)
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 = h1 &+ h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 = h2 &+ h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16
        var k1: UInt64 = 0, k2: UInt64 = 0
        let rem = data.count & 15
        for i in stride(from: rem - 1, through: 8, by: -1) { k2 ^= UInt64(data[tail + i]) << (8 * UInt64(i - 8)) }
        if rem > 8 { k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2 }
        for i in stride(from: min(rem, 8) - 1, through: 0, by: -1) { k1 ^= UInt64(data[tail + i]) << (8 * UInt64(i)) }
        if rem > 0 { k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1 }
        h1 ^= UInt64(data.count); h2 ^= UInt64(data.count)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        return (h1, h2)
    }
}
