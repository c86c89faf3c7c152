/// The strong entity tag of a file version: `"<inode hex>-<size hex>-<mtime ns hex>"`,
/// which changes whenever the file is replaced or modified. One formatter for
/// the static handler (`StaticFilePlugin.etag`), the file cache (which derives
/// it on a hit instead of keeping it) and the store's codec (which leaves out
/// a tag it can derive from the record's fields).
public enum FileEntityTag {
    /// Written digit by digit into one allocation (String(radix:) and
    /// interpolation cost several).
    public static func format(inode: UInt64, size: UInt64, mtimeNanos: Int64) -> String {
        String(unsafeUninitializedCapacity: 3 * 16 + 4) { out in
            var n = 0
            func put(_ b: UInt8) { out[n] = b; n += 1 }
            func hex(_ v: UInt64) {
                let digits = max(1, (64 - v.leadingZeroBitCount + 3) / 4)
                for i in stride(from: digits - 1, through: 0, by: -1) {
                    let d = UInt8(truncatingIfNeeded: v >> (UInt64(i) * 4)) & 15
                    put(d < 10 ? 48 + d : 87 + d)
                }
            }
            put(34)
            hex(inode)
            put(45)
            hex(size)
            put(45)
            hex(UInt64(bitPattern: mtimeNanos))
            put(34)
            return n
        }
    }
}
