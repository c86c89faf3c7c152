import CapuchinServer
import Compression

/// The `compression` section, validated: which codings the server offers and
/// in which order, their levels, which bodies are compressed on the fly and
/// whether precompressed siblings are served. Defaults are an empty section's.
public struct CompressionConfig: Sendable, Equatable {
    public var enabled = true
    /// Offered codings, the server's preference first (for codings a client weighs equally).
    public var codings: [ContentCoding] = [.brotli, .zstd, .gzip]
    /// Levels of the compressions a request makes (bodies up to `inlineMaxSize`, on a serving thread).
    public var levels: [ContentCoding: Int] = Dictionary(uniqueKeysWithValues: ContentCoding.allCases.map { ($0, $0.defaultLevel) })
    /// Levels of the compression thread's (larger bodies, compressed once
    /// beside serving at a lower priority): by default each codec's best ratio.
    public var backgroundLevels: [ContentCoding: Int] =
        Dictionary(uniqueKeysWithValues: ContentCoding.allCases.map { ($0, $0.defaultBackgroundLevel) })
    /// Serve `file.br`, `file.zst`, `file.gz` for `file` when not older than it.
    public var precompressed = true
    /// Compress compressible files once per coding and keep the variants in the cache directory.
    public var onTheFly = true
    /// Bodies outside these bounds are sent as they are (a few hundred bytes gain nothing).
    public var minSize = 256
    public var maxSize = 8 << 20
    /// Up to this size a missing variant is compressed on the serving thread
    /// for the request that needs it; larger ones in the background (identity meanwhile).
    public var inlineMaxSize = 8 << 10
    /// Bytes of variant bodies held in memory (past it, some files' variants
    /// are let go: stored ones are read back from the cache directory on demand).
    public var maxMemory = 256 << 20
    /// Media types compressed (`type/*` matches a whole top-level type); parameters are ignored.
    public var types = CompressionConfig.defaultTypes

    public static let defaultTypes = [
        "text/*", "application/json", "application/javascript", "application/xml", "application/wasm",
        "image/svg+xml", "application/manifest+json", "application/ld+json", "application/xhtml+xml",
        "application/rss+xml", "application/atom+xml", "application/x-javascript", "application/vnd.api+json",
    ]

    /// Compressed already, or nothing to gain: never compressed whatever `types` says.
    static let neverTypes: [String] = ["image/*", "audio/*", "video/*", "font/woff", "font/woff2", "application/zip",
                                        "application/gzip", "application/x-gzip", "application/zstd", "application/x-bzip2",
                                        "application/x-xz", "application/x-7z-compressed", "application/x-rar-compressed",
                                        "application/pdf", "application/octet-stream"]

    public init() {}

    /// Reads the section. Throws `ConfigError` naming the file, line and key:
    /// an unknown key or coding, a coding named twice, a level out of the
    /// coding's range, `min_size` above `max_size`, an empty or malformed type.
    public init(section s: ConfigSection) throws {
        self.init()
        enabled = try s.bool("enabled", default: enabled)
        let tokens = try s.stringList("encodings", default: codings.map(\.token))
        var list: [ContentCoding] = []
        for t in tokens {
            guard let c = ContentCoding(token: t) else {
                try s.report(s.error("encodings", "unknown coding '\(t)' (known: br, zstd, gzip)"))
                continue
            }
            if list.contains(c) { try s.report(s.error("encodings", "'\(t)' is listed twice")); continue }
            list.append(c)
        }
        codings = list
        for c in ContentCoding.allCases {
            levels[c] = try s.int(Self.levelKey(c), default: c.defaultLevel, range: c.levels)
            backgroundLevels[c] = try s.int(Self.levelKey(c, background: true), default: c.defaultBackgroundLevel, range: c.levels)
        }
        precompressed = try s.bool("precompressed", default: precompressed)
        onTheFly = try s.bool("on_the_fly", default: onTheFly)
        minSize = try s.size("min_size", default: minSize, range: 0...(1 << 40))
        maxSize = try s.size("max_size", default: maxSize, range: 0...(1 << 40))
        if minSize > maxSize { try s.report(s.error("min_size", "is larger than max_size (\(maxSize))")) }
        inlineMaxSize = try s.size("inline_max_size", default: inlineMaxSize, range: 0...(1 << 30))
        maxMemory = try s.size("max_memory", default: maxMemory, range: 0...(1 << 50))
        types = try s.stringList("types", default: types).map { $0.lowercased() }
        for t in types where !Self.isTypePattern(t) {
            try s.report(s.error("types", "'\(t)' is not a media type (type/subtype or type/*)"))
        }
        try s.finish()
    }

    static func levelKey(_ c: ContentCoding, background: Bool = false) -> String {
        let name: String
        switch c {
        case .brotli: name = "brotli"
        case .zstd: name = "zstd"
        case .gzip: name = "gzip"
        }
        return name + (background ? "_background_level" : "_level")
    }

    /// The level to compress with: a request's own (`inline`) or the compression thread's.
    func level(_ c: ContentCoding, inline: Bool) -> Int {
        (inline ? levels[c] : backgroundLevels[c]) ?? (inline ? c.defaultLevel : c.defaultBackgroundLevel)
    }

    private static func isTypePattern(_ t: String) -> Bool {
        let parts = t.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && !t.contains(" ")
    }

    /// Whether a body of this media type (parameters allowed) is compressed.
    public func compresses(contentType: String) -> Bool {
        var media = Substring(contentType)
        if let semi = media.firstIndex(of: ";") { media = media[..<semi] }
        let type = media.trimmingCharacters(in: " \t").lowercased()
        if Self.matches(type, Self.neverTypes) && type != "image/svg+xml" { return false }
        return Self.matches(type, types)
    }

    private static func matches(_ type: String, _ patterns: [String]) -> Bool {
        for p in patterns {
            if p.hasSuffix("/*") {
                if type.hasPrefix(p.dropLast()) { return true }
            } else if p == type {
                return true
            }
        }
        return false
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
