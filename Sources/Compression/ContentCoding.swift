/// An HTTP content coding this server produces (RFC 9110 section 8.4.1):
/// its token, the extension of a precompressed sibling file, its level range
/// and default, and one-shot compression through its codec.
public enum ContentCoding: String, Sendable, CaseIterable, Equatable {
    case brotli = "br"
    case zstd = "zstd"
    case gzip = "gzip"

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    public var token: String { rawValue }

    /// The extension of a precompressed sibling (`style.css.br`), as nginx's
    /// gzip_static and h2o's file.send-compressed look for.
    public var fileExtension: String {
        switch self {
        case .brotli: return ".br"
        case .zstd: return ".zst"
        case .gzip: return ".gz"
        }
    }

    /// The coding a token names (case-insensitive; `x-gzip` is gzip, RFC 9110 8.4.1.3).
    public init?(token: some StringProtocol) {
        switch token.lowercased() {
        case "br": self = .brotli
        case "zstd": self = .zstd
        case "gzip", "x-gzip": self = .gzip
        default: return nil
        }
    }

    /// Levels the codec accepts.
    public var levels: ClosedRange<Int> {
        switch self {
        case .brotli: return 0...11
        case .zstd: return 1...19
        case .gzip: return 1...9
        }
    }

    /// Ratio against CPU for a body a request compresses (up to
    /// `inline_max_size`, on a serving thread, which waits for it). Brotli 8:
    /// Debian's libbrotli on compression.py's stylesheet text gives brotli 9's
    /// bytes within 0.7% at a tenth of its CPU time (8 KiB: 1,705 bytes in
    /// 0.55 ms against 1,704 in 5.6 ms; 1 KiB: 0.11 against 1.4 ms: 9 sets up
    /// a larger hasher), and beats brotli 5 (1,773) and gzip 6 (1,762).
    public var defaultLevel: Int {
        switch self {
        case .brotli: return 8
        case .zstd: return 6
        case .gzip: return 6
        }
    }

    /// The codec's best ratio, for a body the compression thread compresses
    /// once and the cache serves many times: every byte saved is saved on
    /// every hit. 256 KiB of stylesheet (compression.py): brotli 11 39,580
    /// bytes in 436 ms against brotli 9's 43,947 in 38 ms and `gzip -9`'s
    /// 44,637; zstd 19 39,983 in 127 ms against zstd 6's 51,514.
    public var defaultBackgroundLevel: Int {
        switch self {
        case .brotli: return 11
        case .zstd: return 19
        case .gzip: return 9
        }
    }

    /// `input` compressed at `level` (clamped to `levels`). Throws `CompressionError`.
    public func compress(_ input: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        let level = min(max(level, levels.lowerBound), levels.upperBound)
        switch self {
        case .brotli: return try BrotliCodec.compress(input, quality: level)
        case .zstd: return try ZstdCodec.compress(input, level: level)
        case .gzip: return try GzipCodec.compress(input, level: level)
        }
    }

    public func compress(_ input: [UInt8], level: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try compress($0, level: level) }
    }

    /// `input` decoded, refusing more than `limit` bytes of output (tests, and
    /// checking a stored variant). Throws `CompressionError`.
    public func decompress(_ input: [UInt8], limit: Int = 1 << 30) throws -> [UInt8] {
        switch self {
        case .brotli: return try BrotliCodec.decompress(input, limit: limit)
        case .zstd: return try ZstdCodec.decompress(input, limit: limit)
        case .gzip: return try GzipCodec.decompress(input, limit: limit)
        }
    }
}

/// Why a codec failed: which one, and what its library said.
public struct CompressionError: Error, CustomStringConvertible, Equatable {
    public var coding: ContentCoding
    public var message: String

    public init(_ coding: ContentCoding, _ message: String) {
        self.coding = coding
        self.message = message
    }

    public var description: String { "\(coding.token): \(message)" }
}
