import CapuchinSystem

/// One shared copy of each string of a kind that a million entries repeat a
/// few dozen times (content types, the document roots their origin paths
/// start with): a string over 15 bytes is otherwise a heap object per entry.
final class InternTable: Sendable {
    private let table = Lock([String: InternedString]())
    /// Strings kept at most (past it, the rest stay per entry).
    let limit: Int

    init(limit: Int = 4096) { self.limit = limit }

    /// The shared copy of `s` (a string over 15 bytes; shorter ones are held inline).
    func intern(_ s: String) -> String {
        // Nothing to share inline (and loading a million entries spent 3% of
        // its time hashing them here).
        if s.utf8.count <= 15 { return s }
        return box(s).value
    }

    /// The shared box of `s`: one word in an entry instead of a string's two.
    func box(_ s: String) -> InternedString {
        table.withLock { t in
            if let shared = t[s] { return shared }
            let b = InternedString(s)
            if t.count < limit { t[s] = b }
            return b
        }
    }

    /// The content types of the cache's entries.
    static let contentTypes = InternTable()
    /// The heads of the entries' origin paths (see `OriginPath`).
    static let originHeads = InternTable()
}

/// A string an `InternTable` shares.
final class InternedString: Sendable {
    let value: String
    init(_ value: String) { self.value = value }
}
