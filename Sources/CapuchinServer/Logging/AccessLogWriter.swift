import CapuchinSystem

/// Receives filled access-log buffers from workers and writes them to the file
/// on its own thread, so no request waits on disk.
public final class AccessLogWriter: @unchecked Sendable { // safe: `fd` and `thread` change only in init and stop (after the join)
    private let state = Lock<(queue: [[UInt8]], stopping: Bool, path: String?)>((queue: [], stopping: false, path: nil))
    private let wake: EventFD
    private var fd: FileDescriptor?
    private var thread: SystemThread?
    private let log: ErrorLog

    /// Opens `path` for appending and starts the writer thread. Throws `SystemError`.
    public init(path: String, log: ErrorLog) throws {
        self.log = log
        wake = try EventFD()
        fd = try Self.openLog(path)
        state.withLock { $0.path = path }
        thread = try SystemThread(name: "access-log") { [unowned self] in self.run() }
    }

    /// Opens a log file for appending (created when missing). Throws `SystemError`.
    static func openLog(_ path: String) throws -> FileDescriptor {
        try FileDescriptor.open(path, .writeOnly, options: [.create, .append])
    }

    /// Hands over a buffer of complete lines (cheap: one short lock).
    public func submit(_ lines: [UInt8]) {
        if lines.isEmpty { return }
        state.withLock { $0.queue.append(lines) }
        wake.signal()
    }

    /// Writes everything submitted, then stops the thread.
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        thread?.join()
        thread = nil
        fd?.close()
        fd = nil
    }

    private func run() {
        while true {
            wake.wait(timeoutMillis: 1000)
            wake.drain()
            let (batch, stopping) = state.withLock { s -> ([[UInt8]], Bool) in
                let q = s.queue
                s.queue.removeAll()
                return (q, s.stopping)
            }
            for buf in batch { writeAll(buf) }
            if stopping { return }
        }
    }

    private func writeAll(_ buf: [UInt8]) {
        do { try fd?.writeAll(buf) } catch { log.error("access log write failed: \(error)") }
    }
}
