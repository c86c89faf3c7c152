import CapuchinSystem

/// Receives filled access-log buffers from workers and writes them to their
/// files on its own thread, so no request waits on disk. Several files: the
/// server's `logging.access_log` and each site's own `access_log`. `reopen()`
/// (SIGUSR1, logrotate's postrotate) reopens them all on this thread, after
/// the lines already handed over were written, so none is lost.
public final class AccessLogWriter: @unchecked Sendable { // safe: `files` and `thread` change only in init and stop (after the join); the queue is under `state`
    private let state = Lock<(queue: [(slot: Int, lines: [UInt8])], stopping: Bool, reopen: Bool)>((queue: [], stopping: false, reopen: false))
    private let wake: EventFD
    private let files: [AppendOnlyFile]
    private var thread: SystemThread?
    private let log: ErrorLog
    /// The file paths, by slot.
    public let paths: [String]
    /// The slot of the server's log (nil: only sites have their own).
    private let serverSlot: Int?
    public let format: AccessLogFormat

    /// The writer for `config`'s access logs; nil when none is configured.
    /// Throws `SystemError` when a file cannot be opened.
    public static func make(config: ServerConfig, log: ErrorLog) throws -> AccessLogWriter? {
        var paths: [String] = config.accessLog.map { [$0] } ?? []
        for site in config.sites { if let p = site.accessLog, !paths.contains(p) { paths.append(p) } }
        if paths.isEmpty { return nil }
        return try AccessLogWriter(paths: paths, serverLog: config.accessLog, format: config.accessLogFormat, log: log)
    }

    /// Opens every path for appending and starts the writer thread. Throws `SystemError`.
    public init(paths: [String], serverLog: String?, format: AccessLogFormat = .combined, log: ErrorLog) throws {
        self.log = log
        self.paths = paths
        self.format = format
        serverSlot = serverLog.flatMap { paths.firstIndex(of: $0) }
        wake = try EventFD()
        files = try paths.map { try AppendOnlyFile(path: $0) }
        thread = try SystemThread(name: "access-log") { [unowned self] in self.run() }
    }

    /// Opens `path` alone in the combined format (tests, tools).
    public convenience init(path: String, log: ErrorLog) throws {
        try self.init(paths: [path], serverLog: path, log: log)
    }

    /// The slot a site's lines go to: its own file, else the server's; nil when neither.
    func slot(for siteLog: String?) -> Int? {
        if let siteLog, let i = paths.firstIndex(of: siteLog) { return i }
        return serverSlot
    }

    /// Hands over a buffer of complete lines (cheap: one short lock).
    public func submit(_ lines: [UInt8], to slot: Int = 0) {
        if lines.isEmpty { return }
        state.withLock { $0.queue.append((slot, lines)) }
        wake.signal()
    }

    /// Asks the writer thread to reopen every file (after writing what it holds).
    public func reopen() {
        state.withLock { $0.reopen = true }
        wake.signal()
    }

    /// Writes everything submitted, then stops the thread.
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        thread?.join()
        thread = nil
    }

    private func run() {
        while true {
            AppendOnlyFile.waitReadable(wake.fd, millis: 1000)
            wake.drain()
            let (batch, stopping, reopen) = state.withLock { s -> ([(slot: Int, lines: [UInt8])], Bool, Bool) in
                let q = s.queue
                let r = s.reopen
                s.queue.removeAll()
                s.reopen = false
                return (q, s.stopping, r)
            }
            for b in batch {
                do { try files[b.slot].writeAll(b.lines) } catch { log.error("access log write failed: \(error)") }
            }
            if reopen {
                for f in files {
                    do { try f.reopen() } catch { log.error("access log: reopening failed, still writing to the old file: \(error)") }
                }
                log.info("access logs reopened (\(paths.joined(separator: ", ")))")
            }
            if stopping { return }
        }
    }
}
