import Glibc

/// Who owns a path, and changing it: the state directory check before a
/// privilege drop, and the files the server hands to the user it runs as.
public struct FileOwnership: Sendable, Equatable {
    public let uid: uid_t
    public let gid: gid_t
    public let isDirectory: Bool

    /// The owner of `path` (following symlinks); nil when it does not exist.
    /// Throws `SystemError` for any other failure.
    public static func of(_ path: String) throws -> FileOwnership? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw SystemError(call: "stat(\(path))", errno: errno)
        }
        return FileOwnership(uid: st.st_uid, gid: st.st_gid, isDirectory: (st.st_mode & S_IFMT) == S_IFDIR)
    }

    /// chown(2). Throws `SystemError`.
    public static func change(_ path: String, uid: uid_t, gid: gid_t) throws {
        _ = try blockingSyscall("chown(\(path))") { chown(path, uid, gid) }
    }

    /// Creates one directory with `mode`. Throws `SystemError` (EEXIST included).
    public static func makeDirectory(_ path: String, mode: mode_t = 0o750) throws {
        _ = try blockingSyscall("mkdir(\(path))") { mkdir(path, mode) }
    }

    /// Whether the calling process may access `path` as `mode` (R_OK, W_OK, X_OK, F_OK)
    /// by its real ids; the errno when not.
    public static func accessError(_ path: String, _ mode: Int32) -> Int32? {
        access(path, mode) == 0 ? nil : errno
    }
}

/// What access(2) checks for (`FileOwnership.accessError`).
public enum AccessMode {
    public static let read: Int32 = R_OK
    public static let write: Int32 = W_OK
    public static let search: Int32 = X_OK
}
