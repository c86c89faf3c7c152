import Foundation
import Glibc

/// A directory under /tmp made for one test and removed with everything in it
/// when the value goes away.
public final class TemporaryDirectory {
    public let path: String
    /// `path` as a file URL.
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    public init(prefix: String) throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
