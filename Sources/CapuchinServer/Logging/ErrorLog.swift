import CapuchinSystem
import Synchronization

/// The error log: leveled lines to stderr or a file. Rare events only, so one
/// lock is fine; the level is an atomic read on every call.
public final class ErrorLog: Sendable {
    private let level = Atomic<Int>(LogLevel.info.rawValue)
    private let sink = Lock<FileDescriptor>(.standardError)

    public init(level: LogLevel = .info) { self.level.store(level.rawValue, ordering: .relaxed) }

    /// Sends lines to `destination` ("stderr" or a path, opened for appending).
    /// Throws `SystemError` when the file cannot be opened.
    public func open(destination: String) throws {
        let fd: FileDescriptor = destination == "stderr"
            ? .standardError : try FileDescriptor.open(destination, .writeOnly, options: [.create, .append])
        sink.withLock { old in
            if old != .standardError { old.close() }
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
        // A failed write of the error log has nowhere to be reported.
        sink.withLock { fd in try? fd.writeAll(Array(line.utf8)) }
    }

    /// "2024-05-01T12:00:00Z" (UTC).
    static func timestamp() -> String {
        let t = Clock.utc(epochSeconds: Clock.wallSeconds())
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(t.year)-\(two(t.month))-\(two(t.day))T\(two(t.hour)):\(two(t.minute)):\(two(t.second))Z"
    }
}
