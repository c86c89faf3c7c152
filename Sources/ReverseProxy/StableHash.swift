/// A fast, stable 64-bit hash (FNV-1a with a SplitMix64 finalizer for good
/// avalanche). Stable across runs and processes, unlike `Hasher`, so it can
/// place ring points and name files that must be found again after a restart.
public enum StableHash {
    public static func hash<S: Sequence>(_ bytes: S, seed: UInt64 = 0) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        return mix(h)
    }

    public static func hash(_ s: String, seed: UInt64 = 0) -> UInt64 { hash(s.utf8, seed: seed) }

    /// SplitMix64's finalizer.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 16 lowercase hex digits.
    public static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
