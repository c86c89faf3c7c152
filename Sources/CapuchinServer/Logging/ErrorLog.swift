import CapuchinSystem
import Glibc
import Synchronization

/// The error log: leveled lines to stderr or a file. Rare events only, so one
/// lock is fine; the level is an atomic read on every call.
public final class ErrorLog: @unchecked Sendable {
    private let level = Atomic<Int>(LogLevel.info.rawValue)
    private let sink = Mutex<Int32>(2)

    public init(level: LogLevel = .info) { self.level.store(level.rawValue, ordering: .relaxed) }

    /// Sends lines to `destination` ("stderr" or a path, opened for appending).
    /// Throws `SystemError` when the file cannot be opened.
    public func open(destination: String) throws {
        var fd: Int32 = 2
        if destination != "stderr" {
            fd = Glibc.open(destination, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 { throw SystemError(call: "open(\(destination))", errno: errno) }
        }
        sink.withLock { old in
            if old > 2 { FileIO.close(old) }
            old = fd
        }
    }

    public func setLevel(_ l: LogLevel) { level.store(l.rawValue, ordering: .relaxed) }
    public var currentLevel: LogLevel { LogLevel(rawValue: level.load(ordering: .relaxed)) ?? .info }

    @inline(__always)
    public func enabled(_ l: LogLevel) -> Bool { l.rawValue <= level.load(ordering: .relaxed) }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }

    public func log(_ l: LogLevel, _ message: @autoclosure () -> String) {
        guard enabled(l) else { return }
        let line = "\(Self.timestamp()) [\(l.name)] \(message())\n"
        sink.withLock { fd in
            var bytes = Array(line.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
                off += n
            }
        }
    }

    /// "2024-05-01T12:00:00Z" (UTC).
    static func timestamp() -> String {
        var t = time_t(Clock.wallSeconds())
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tmv.tm_year + 1900)-\(two(tmv.tm_mon + 1))-\(two(tmv.tm_mday))T\(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec))Z"
    }
}
