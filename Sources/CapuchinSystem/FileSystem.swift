import CSystemShims
import Glibc

/// Calls on paths: directories, renames, removal, listing, realpath, and the host name.
public enum FileSystem {
    /// `mkdir -p`: creates `path` and every missing directory above it (an
    /// existing one is fine). One mkdir when only the last is missing.
    /// Throws `SystemError` naming the directory that failed.
    public static func makeDirectories(_ path: String, permissions: UInt32 = 0o755) throws {
        if mkdir(path, mode_t(permissions)) == 0 { return }
        let e = Errno.current
        if e == .fileExists { return }
        guard e == .noSuchFileOrDirectory, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw SystemError(call: "mkdir(\(path))", code: e)
        }
        try makeDirectories(String(path[..<slash]), permissions: permissions)
        if mkdir(path, mode_t(permissions)) != 0 && Errno.current != .fileExists {
            throw SystemError.current("mkdir(\(path))")
        }
    }

    /// realpath(3): the absolute path without symlinks, "." or "..". Throws `SystemError`.
    public static func realPath(_ path: String) throws -> String {
        guard let real = realpath(path, nil) else { throw SystemError.current("realpath(\(path))") }
        defer { free(real) }
        return String(cString: real)
    }

    /// rename(2). Throws `SystemError` naming the destination.
    public static func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw SystemError.current("rename(\(to))") }
    }

    /// unlink(2); a missing file is not an error. Returns whether a file was removed.
    @discardableResult
    public static func removeFile(_ path: String) -> Bool { unlink(path) == 0 }

    /// fsync of a directory, so a rename in it is durable. Throws `SystemError`.
    public static func syncDirectory(_ path: String) throws {
        let fd = try FileDescriptor.open(path, .readOnly, options: .directory)
        defer { fd.close() }
        try fd.sync()
    }

    /// Names in a directory (without "." and ".."); empty when it cannot be read.
    public static func contentsOfDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        // The name read in place: a dirent is only as long as its name (d_reclen), so
        // copying the 256-byte d_name read past the end of readdir's buffer (SIGSEGV
        // when that buffer ended a mapping: the proxy's listing on a dispatch thread).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(dir) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The whole content of a file. Throws `SystemError` (open, read).
    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// The bytes a file occupies on disk (st_blocks: less than its length when
    /// sparse), or nil when stat fails.
    public static func allocatedBytes(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_blocks) * 512
    }

    /// gethostname(2), or nil when it fails.
    public static func hostName() -> String? {
        var buf = [UInt8](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return nil }
        return String(decoding: buf.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
