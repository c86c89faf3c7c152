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
    /// Over the strings' bytes in place (the UTF-8 view's iterator cost more
    /// than the rest of the lookup).
    @inline(__always)
    static func hash(site: String, path: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        withUTF8Bytes(site) { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        withUTF8Bytes(path) { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
