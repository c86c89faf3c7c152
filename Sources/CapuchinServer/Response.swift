import CapuchinSystem
import HTTPCore

/// A response body as the server writes it. Plugins build these from opaque
/// handles; only the server touches descriptors (writev, sendfile).
public enum ResponseBody {
    case empty
    case bytes([UInt8])
    /// A slice of a mapping, written with writev straight from the mapping.
    case mapped(MappedFile, offset: Int, count: Int)
    /// A slice of an open file, written with sendfile.
    case file(OpenFile, offset: Int, count: Int)
    /// Several bodies written back to back (multipart/byteranges).
    indirect case parts([ResponseBody])

    public var count: Int {
        switch self {
        case .empty: return 0
        case .bytes(let b): return b.count
        case .mapped(_, _, let n), .file(_, _, let n): return n
        case .parts(let p): return p.reduce(0) { $0 + $1.count }
        }
    }
}

/// A response a content handler produced. The server adds Date, Connection and
/// Content-Length (from `body`, unless `headers` has one, as for HEAD).
public struct Response {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ResponseBody
    /// Header lines already serialized ("Name: value\r\n"...), written after the
    /// ones in `headers`; the cache keeps these per entry so a hit builds nothing.
    public var preformattedHeaders: [UInt8]?
    /// The headers (or preformatted lines) carry the origin's Date, which a
    /// cache or proxy must pass on unchanged (RFC 9111 4): the server then
    /// writes none of its own.
    public var carriesDate = false

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: ResponseBody = .empty,
                preformattedHeaders: [UInt8]? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.preformattedHeaders = preformattedHeaders
    }
}
