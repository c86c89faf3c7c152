import CapuchinSystem

/// Cache keys: the site's first name followed by the decoded request path
/// ("example.com/css/a.css"). The query string is not part of the key: like
/// nginx's open_file_cache, a static file is the same file whatever the query.
enum CacheKey {
    static func make(site: String, path: String) -> String { site + path }

    /// Splits a key at its first `/` into site and path; nil when it has none.
    static func split(_ key: String) -> (site: String, path: String)? {
        guard let slash = key.firstIndex(of: "/") else { return nil }
        return (String(key[..<slash]), String(key[slash...]))
    }

    /// A stable 64-bit hash of `site + path` (FNV-1a, then a mixer), computed
    /// without building the key. Stable across runs: policies persist state by it.
    @inline(__always)
    static func hash(site: String, path: String) -> UInt64 {
        finish(feed(feed(basis, site), path))
    }

    /// The hash of a whole key: the same as of its two halves (entries keep
    /// the key, not the hash).
    static func hash(key: String) -> UInt64 {
        withUTF8Bytes(key) { hash(keyBytes: UnsafeRawBufferPointer($0)) }
    }

    /// `hash(key:)` of a key's UTF-8 bytes.
    static func hash(keyBytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = basis
        for b in keyBytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return finish(h)
    }

    private static let basis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Over the string's bytes in place (the UTF-8 view's iterator cost more
    /// than the rest of the lookup).
    @inline(__always)
    private static func feed(_ h: UInt64, _ s: String) -> UInt64 {
        var h = h
        withUTF8Bytes(s) { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        return h
    }

    @inline(__always)
    private static func finish(_ h: UInt64) -> UInt64 {
        var h = h
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
