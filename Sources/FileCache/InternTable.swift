import CapuchinSystem

/// One shared copy of each string of a kind that a million entries repeat a
/// few dozen times (content types, the document roots their origin paths
/// start with): a string over 15 bytes is otherwise a heap object per entry.
final class InternTable: Sendable {
    private let table = Lock([String: String]())
    /// Strings kept at most (past it, the rest stay per entry).
    let limit: Int

    init(limit: Int = 4096) { self.limit = limit }

    func intern(_ s: String) -> String {
        // Up to 15 bytes a string is held inline: nothing to share (and loading a
        // million entries spent 3% of its time hashing them here).
        if s.utf8.count <= 15 { return s }
        return table.withLock { t in
            if let shared = t[s] { return shared }
            if t.count < limit { t[s] = s }
            return s
        }
    }

    /// The content types of the cache's entries.
    static let contentTypes = InternTable()
    /// The heads of the entries' origin paths (see `OriginPath`).
    static let originHeads = InternTable()
}
