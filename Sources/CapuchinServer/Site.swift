/// A virtual host: names it answers to and its document root.
public struct Site: Sendable {
    public var names: [String]
    /// Absolute, symlink-resolved document root.
    public var root: String
    public var indexFiles: [String]
    public var allowSymlinksOutsideRoot: Bool

    public init(names: [String], root: String, indexFiles: [String] = ["index.html"], allowSymlinksOutsideRoot: Bool = false) {
        self.names = names
        self.root = root
        self.indexFiles = indexFiles
        self.allowSymlinksOutsideRoot = allowSymlinksOutsideRoot
    }
}
