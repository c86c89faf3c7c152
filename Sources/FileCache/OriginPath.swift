/// An entry's origin path kept as a head shared by the entries of a document
/// root plus the key's last bytes: "/srv/www" + the "/a/b.html" of
/// "site/a/b.html". A million entries then hold one copy of the root instead of
/// a million paths (each a heap string of 64-192 bytes: the largest item of an
/// entry, measured by EntryMemoryTests). The store's codec splits it the same way.
enum OriginPath {
    /// Splits `path` against `key`: the head (boxed and interned, one word an
    /// entry: `InternTable.originHeads`)
    /// and how many of the key's last bytes follow it. The shared part never
    /// starts inside a UTF-8 sequence, so both halves are valid strings.
    static func split(_ path: String, key: String) -> (head: InternedString, shared: UInt32) {
        var path = path, key = key
        let (headCount, shared) = path.withUTF8 { p in
            key.withUTF8 { k in
                var n = 0
                while n < p.count && n < k.count && p[p.count - 1 - n] == k[k.count - 1 - n] { n += 1 }
                // Back off continuation bytes (10xxxxxx): the split falls between characters.
                while n > 0 && p[p.count - n] & 0xC0 == 0x80 { n -= 1 }
                return (p.count - n, n)
            }
        }
        let head = headCount == path.utf8.count ? path : String(path.utf8.prefix(headCount))!
        return (InternTable.originHeads.box(head), UInt32(shared))
    }

    /// The whole path (one allocation: on a hit and for each revalidating stat),
    /// from the head and the key's UTF-8 bytes.
    static func join(head: String, shared: UInt32, key k: UnsafeRawBufferPointer) -> String {
        var head = head
        return head.withUTF8 { h in
            let n = Int(shared)
            return String(unsafeUninitializedCapacity: h.count + n) { out in
                if h.count > 0 { out.baseAddress!.update(from: h.baseAddress!, count: h.count) }
                if n > 0 { UnsafeMutableRawPointer(out.baseAddress! + h.count).copyMemory(from: k.baseAddress! + (k.count - n), byteCount: n) }
                return h.count + n
            }
        }
    }

    /// The whole path, NUL-terminated, in temporary memory for `body` (a
    /// revalidating stat on a hit makes no String).
    static func withCString<R>(head: String, shared: UInt32, key k: UnsafeRawBufferPointer,
                               _ body: (UnsafePointer<CChar>) -> R) -> R {
        var head = head
        return head.withUTF8 { h in
            let n = Int(shared)
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: h.count + n + 1) { out in
                let base = UnsafeMutableRawPointer(out.baseAddress!)
                if h.count > 0 { base.copyMemory(from: h.baseAddress!, byteCount: h.count) }
                if n > 0 { (base + h.count).copyMemory(from: k.baseAddress! + (k.count - n), byteCount: n) }
                out[h.count + n] = 0
                return body(UnsafePointer(out.baseAddress!))
            }
        }
    }
}
