import CapuchinSystem

/// Errors of the proxy's body store.
public enum ProxyStoreError: Error, Equatable, CustomStringConvertible {
    /// A file operation failed: which call, on which path, errno.
    case io(call: String, path: String, errno: Errno)
    /// An index entry's metadata cannot be decoded.
    case corruptMetadata(String)
    /// The body grew past the configured maximum object size.
    case tooLarge(limit: Int)
    /// The writer was already committed or aborted.
    case writerClosed
    /// The eviction policy kept the stored responses rather than this one.
    case notAdmitted

    public var description: String {
        switch self {
        case .io(let call, let path, let e): return "\(call) \(path): \(e) (errno \(e.rawValue))"
        case .corruptMetadata(let why): return "corrupt cache metadata: \(why)"
        case .tooLarge(let limit): return "body larger than max_object_size (\(limit) bytes)"
        case .writerClosed: return "body writer already closed"
        case .notAdmitted: return "not admitted by the eviction policy (cache full of more popular responses)"
        }
    }
}
