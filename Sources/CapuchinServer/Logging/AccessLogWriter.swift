import CapuchinSystem
import Glibc
import Synchronization

/// Receives filled access-log buffers from workers and writes them to the file
/// on its own thread, so no request waits on disk.
public final class AccessLogWriter: @unchecked Sendable {
    private let state = Mutex<(queue: [[UInt8]], stopping: Bool, path: String?)>((queue: [], stopping: false, path: nil))
    private let wake: EventFD
    private var fd: Int32 = -1
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

    static func openLog(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw SystemError(call: "open(\(path))", errno: errno) }
        return fd
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
        if fd >= 0 { FileIO.close(fd); fd = -1 }
    }

    private func run() {
        var pfd = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        while true {
            _ = poll(&pfd, 1, 1000)
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
        buf.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { log.error("access log write failed: \(String(cString: strerror(errno)))"); return }
                off += n
            }
        }
    }
}
