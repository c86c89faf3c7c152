import CapuchinSystem

/// What a `.variant` entry's `extra` holds: the coding's token and the path
/// and version (device, inode, size, mtime) of the source it was compressed
/// from, as newline-separated text (the store and `cachedump` read it the same way).
public struct VariantExtra: Sendable, Equatable {
    public var coding: String
    public var sourcePath: String
    public var source: FileIdentity

    public init(coding: String, sourcePath: String, source: FileIdentity) {
        self.coding = coding
        self.sourcePath = sourcePath
        self.source = source
    }

    /// Nil when the bytes are not six fields with numbers where numbers go.
    public init?(_ bytes: [UInt8]) {
        let f = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard f.count == 6, !f[0].isEmpty, let dev = UInt64(f[2]), let ino = UInt64(f[3]), let size = Int(f[4]), size >= 0,
              let mtime = Int64(f[5]) else { return nil }
        self.init(coding: String(f[0]), sourcePath: String(f[1]),
                  source: FileIdentity(device: dev, inode: ino, size: size, mtimeNanos: mtime, isRegular: true, isDirectory: false))
    }

    public var bytes: [UInt8] {
        Array([coding, sourcePath, String(source.device), String(source.inode), String(source.size), String(source.mtimeNanos)]
            .joined(separator: "\n").utf8)
    }

    /// The key of a variant: its source's key, NUL, the coding (NUL never occurs in a request path).
    public static func key(sourceKey: String, coding: String) -> String { sourceKey + "\u{0}" + coding }

    /// `site/path [coding]` for a variant's key, for people.
    public static func displayKey(_ key: String) -> String {
        guard let nul = key.firstIndex(of: "\u{0}") else { return key }
        return String(key[..<nul]) + " [" + String(key[key.index(after: nul)...]) + "]"
    }
}
