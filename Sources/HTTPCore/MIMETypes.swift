/// Maps file extensions to media types. Text types carry `; charset=utf-8`.
/// `MIMETypes.type(forPath:)` uses the built-in table; an instance made with
/// `overrides` (from the config: extension -> type) consults those first.
public struct MIMETypes: Sendable {
    public static let defaultType = "application/octet-stream"

    public static let builtIn: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "json": "application/json",
        "map": "application/json", "webmanifest": "application/manifest+json",
        "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "csv": "text/csv; charset=utf-8", "xml": "application/xml", "rss": "application/rss+xml",
        "atom": "application/atom+xml", "svg": "image/svg+xml", "png": "image/png",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "avif": "image/avif", "ico": "image/x-icon", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
        "pdf": "application/pdf", "wasm": "application/wasm", "zip": "application/zip",
        "gz": "application/gzip", "tar": "application/x-tar",
        "mp4": "video/mp4", "webm": "video/webm", "ogv": "video/ogg", "mov": "video/quicktime",
        "mp3": "audio/mpeg", "ogg": "audio/ogg", "oga": "audio/ogg", "wav": "audio/wav", "flac": "audio/flac",
        "m4a": "audio/mp4", "aac": "audio/aac", "woff": "font/woff", "woff2": "font/woff2",
        "ttf": "font/ttf", "otf": "font/otf", "eot": "application/vnd.ms-fontobject",
        "m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t", "yaml": "application/yaml",
        "yml": "application/yaml", "toml": "application/toml", "epub": "application/epub+zip",
    ]

    private let table: [String: String]

    /// `overrides` keys are extensions without the dot, matched case-insensitively.
    public init(overrides: [String: String] = [:]) {
        var table = Self.builtIn
        for (ext, type) in overrides { table[ext.lowercased()] = type }
        self.table = table
    }

    /// The media type for a path by its last extension (the default for none).
    public func contentType(forPath path: String) -> String {
        guard let ext = Self.pathExtension(path) else { return Self.defaultType }
        return table[ext] ?? Self.defaultType
    }

    /// The built-in table's media type for `path`.
    public static func type(forPath path: String) -> String { shared.contentType(forPath: path) }

    private static let shared = MIMETypes()

    /// The lowercased extension after the last dot of the last segment, if any.
    static func pathExtension(_ path: String) -> String? {
        var ext: [UInt8] = []
        for c in path.utf8.reversed() {
            if c == UInt8(ascii: ".") {
                return ext.isEmpty ? nil : String(decoding: ext.reversed(), as: UTF8.self)
            }
            if c == UInt8(ascii: "/") || ext.count >= 16 { return nil }
            ext.append(ByteClass.lower(c))
        }
        return nil
    }
}
