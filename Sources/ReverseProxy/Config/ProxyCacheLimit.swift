/// The proxy cache's size limit: total bytes and number of responses. Both
/// are enforced with one byte budget, as the file cache does: each response
/// is charged its body size, but at least `bytes / entries`, so the byte
/// budget never holds more than `entries` responses.
public struct ProxyCacheLimit: Sendable, Equatable {
    public var bytes: Int
    public var entries: Int

    public init(bytes: Int, entries: Int) {
        self.bytes = max(1, bytes)
        self.entries = max(1, entries)
    }

    /// The units a body of `size` bytes is charged.
    public func charge(forSize size: Int) -> Int { max(size, max(1, bytes / entries)) }
}
