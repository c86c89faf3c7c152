/// A failed system call: which call, and its errno.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let call: String
    public let code: Errno

    public init(call: String, code: Errno) {
        self.call = call
        self.code = code
    }

    /// Transitional: used by Engine until it moves to `Errno`.
    public init(call: String, errno: Int32) {
        self.init(call: call, code: Errno(rawValue: errno))
    }

    /// Transitional: used by Engine until it moves to `code`.
    public var errno: Int32 { code.rawValue }

    /// The failed call named `call`, with the thread's errno now.
    @inline(__always)
    static func current(_ call: String) -> SystemError { SystemError(call: call, code: .current) }

    public var description: String { "\(call): \(code) (errno \(code.rawValue))" }
}

/// A failure that is no system call's: the file changed or shrank under a read
/// or a send. Kept apart from `SystemError` so no errno (EIO) is invented for it.
public struct ConditionFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// The file was shorter than its fstat said when read or sent.
        case fileShrank
        /// The file's version (fstat identity) changed while it was read or sent.
        case fileChanged
        /// The event loop a request was posted to has stopped.
        case loopStopped
    }

    /// What was being done ("pread", "snapshot", "writev", ...).
    public let operation: String
    public let condition: Condition

    public init(_ operation: String, _ condition: Condition) {
        self.operation = operation
        self.condition = condition
    }

    public var description: String {
        switch condition {
        case .fileShrank: return "\(operation): the file shrank"
        case .fileChanged: return "\(operation): the file changed meanwhile"
        case .loopStopped: return "\(operation): the event loop has stopped"
        }
    }
}
