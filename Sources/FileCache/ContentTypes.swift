import CapuchinSystem

/// One shared copy of each content type: a million entries of a few dozen
/// types keep a few dozen strings (a type over 15 bytes, such as
/// "application/javascript", is otherwise a heap string per entry).
enum ContentTypes {
    private static let table = Lock([String: String]())
    /// Types kept at most (a site with more keeps the rest per entry).
    static let limit = 4096

    static func intern(_ type: String) -> String {
        // Up to 15 bytes a string is held inline: nothing to share (and loading a
        // million entries spent 3% of its time hashing them here).
        if type.utf8.count <= 15 { return type }
        return table.withLock { t in
            if let shared = t[type] { return shared }
            if t.count < limit { t[type] = type }
            return type
        }
    }
}
