import CapuchinSystem
import HTTPCore

/// The logger stage of the request pipeline: one record per answered request
/// (combined or JSON, `logging.access_log_format`), formatted into the loop's
/// per-file buffers (the server's log and each site's own) that full or at
/// each sweep go to the `AccessLogWriter` thread, so no request waits on disk.
final class AccessLogStage {
    private let buffer: AccessLogBuffer

    init(writer: AccessLogWriter) { buffer = AccessLogBuffer(writer: writer) }

    /// An answered request.
    func record(_ request: HTTPRequest, _ ctx: RequestContext, peer: String, status: Int, bytes: Int, stamp: [UInt8]) {
        buffer.append(AccessLogRecord(request: request, context: ctx, client: peer, status: status, bytes: bytes,
                                      nowNanos: Clock.monotonicNanos(), wallMillis: AccessLogBuffer.wallMillis()),
                      site: ctx.site, commonLogStamp: stamp)
    }

    /// A request refused before it was parsed (400, 413, 431, ...).
    func recordRefused(peer: String, status: Int, bytes: Int, stamp: [UInt8]) {
        buffer.append(AccessLogRecord(badRequestFrom: peer, status: status, bytes: bytes, wallMillis: AccessLogBuffer.wallMillis()),
                      site: nil, commonLogStamp: stamp)
    }

    /// Keeps the X-Cache verdict the client is sent for the record.
    func noteCacheVerdict(of response: Response, in ctx: RequestContext) {
        AccessLogRecord.noteCacheVerdict(of: response, in: ctx)
    }

    /// Hands the buffered lines to the writer thread (each sweep and at exit).
    func flush() { buffer.flush() }
}
