import Glibc

/// The few file system calls the body store makes, each with EINTR handled and
/// failures thrown as `ProxyStoreError.io` naming the path.
enum BodyFiles {
    static func fail(_ call: String, _ path: String) -> ProxyStoreError { .io(call: call, path: path, errno: errno) }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw fail("mkdir", path) }
    }

    /// Creates every missing directory of the absolute `path`.
    static func makeDirectories(_ path: String) throws {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            try makeDirectory(current)
        }
    }

    static func createExclusive(_ path: String) throws -> Int32 {
        var fd: Int32
        repeat { fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) } while fd < 0 && errno == EINTR
        if fd < 0 { throw fail("open", path) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            off += n
        }
    }

    static func sync(_ fd: Int32, path: String) throws {
        if fsync(fd) != 0 { throw fail("fsync", path) }
    }

    /// fsync of a directory, so a rename in it is durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw fail("open", path) }
        defer { close(fd) }
        try sync(fd, path: path)
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw fail("rename", to) }
    }

    /// Removes a file; a missing one is not an error.
    static func unlinkIfPresent(_ path: String) {
        _ = unlink(path)
    }

    /// The size of a regular file, or nil when it is missing or not a regular file.
    static func regularFileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// Names in a directory (without "." and ".."); empty when it cannot be read.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
