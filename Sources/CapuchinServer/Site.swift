import CapuchinSystem

/// A virtual host: names it answers to and its document root.
public struct Site: Sendable {
    public var names: [String]
    /// Absolute, symlink-resolved document root.
    public var root: String
    public var indexFiles: [String]
    public var allowSymlinksOutsideRoot: Bool
    /// The open root directory that files are resolved beneath (nil until the server opens it).
    public var rootHandle: DirectoryHandle?

    public init(names: [String], root: String, indexFiles: [String] = ["index.html"], allowSymlinksOutsideRoot: Bool = false,
                rootHandle: DirectoryHandle? = nil) {
        self.names = names
        self.root = root
        self.indexFiles = indexFiles
        self.allowSymlinksOutsideRoot = allowSymlinksOutsideRoot
        self.rootHandle = rootHandle
    }
}
