import CapuchinSystem

/// A virtual host: names it answers to and its document root. A class: every
/// request's context holds its site, and a struct copy cost four retains.
public final class Site: Sendable {
    public let names: [String]
    /// The first name ("" for none): the site's part of a cache key.
    public let cacheName: String
    /// Absolute, symlink-resolved document root.
    public let root: String
    public let indexFiles: [String]
    public let allowSymlinksOutsideRoot: Bool
    /// The open root directory that files are resolved beneath (nil until the server opens it).
    public let rootHandle: DirectoryHandle?
    /// The site's own access log path (nil: the server's).
    public let accessLog: String?

    public init(names: [String], root: String, indexFiles: [String] = ["index.html"], allowSymlinksOutsideRoot: Bool = false,
                rootHandle: DirectoryHandle? = nil, accessLog: String? = nil) {
        self.names = names
        cacheName = names.first ?? ""
        self.root = root
        self.indexFiles = indexFiles
        self.allowSymlinksOutsideRoot = allowSymlinksOutsideRoot
        self.rootHandle = rootHandle
        self.accessLog = accessLog
    }
}
