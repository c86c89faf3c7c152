import CapuchinSystem

/// A worker's pending access-log lines, one buffer per log file (the server's
/// and each site's own), formatted on the worker and handed to the
/// `AccessLogWriter` thread in batches so no request waits on disk.
final class AccessLogBuffer {
    private let writer: AccessLogWriter
    private var formatter: AccessLogFormatter
    private var pending: [[UInt8]]
    private static let flushBytes = 32 << 10

    init(writer: AccessLogWriter) {
        self.writer = writer
        formatter = AccessLogFormatter(format: writer.format)
        pending = Array(repeating: [], count: writer.paths.count)
    }

    /// Formats `record` into the buffer of `site`'s log (its own, else the
    /// server's); dropped when neither is configured.
    func append(_ record: AccessLogRecord, site: Site?, commonLogStamp: [UInt8]) {
        guard let slot = writer.slot(for: site?.accessLog) else { return }
        formatter.append(record, commonLogStamp: commonLogStamp, to: &pending[slot])
        if pending[slot].count >= Self.flushBytes { flush(slot) }
    }

    /// Hands every non-empty buffer to the writer thread.
    func flush() {
        for slot in pending.indices where !pending[slot].isEmpty { flush(slot) }
    }

    private func flush(_ slot: Int) {
        writer.submit(pending[slot], to: slot)
        pending[slot] = []
        pending[slot].reserveCapacity(Self.flushBytes + 1024)
    }

    /// Wall clock in milliseconds for a record.
    static func wallMillis() -> Int { Int(Clock.wallNanos() / 1_000_000) }
}
