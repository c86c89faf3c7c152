import CapuchinSystem

/// The file calls the body store makes (CapuchinSystem's), with failures
/// thrown as `ProxyStoreError.io` naming the path.
enum BodyFiles {
    /// Runs `body`, turning a `SystemError` into `ProxyStoreError.io` for `path`.
    static func io<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SystemError {
            throw ProxyStoreError.io(call: e.call, path: path, errno: e.code)
        }
    }

    /// Creates every missing directory of `path`.
    static func makeDirectories(_ path: String) throws {
        try io(path) { try FileSystem.makeDirectories(path) }
    }

    static func createExclusive(_ path: String) throws -> FileDescriptor {
        try io(path) { try FileDescriptor.open(path, .writeOnly, options: .exclusiveCreate) }
    }

    static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try io(path) { try fd.writeAll(bytes) }
    }

    static func sync(_ fd: FileDescriptor, path: String) throws {
        try io(path) { try fd.sync() }
    }

    /// fsync of a directory, so a rename in it is durable.
    static func syncDirectory(_ path: String) throws {
        try io(path) { try FileSystem.syncDirectory(path) }
    }

    static func rename(_ from: String, _ to: String) throws {
        try io(to) { try FileSystem.rename(from, to: to) }
    }

    /// Removes a file; a missing one is not an error.
    static func unlinkIfPresent(_ path: String) {
        FileSystem.removeFile(path)
    }

    /// The size of a regular file, or nil when it is missing or not a regular file.
    static func regularFileSize(_ path: String) -> Int64? {
        guard let id = try? statPath(path), id.isRegular else { return nil }
        return Int64(id.size)
    }

    /// Names in a directory (without "." and ".."); empty when it cannot be read.
    static func list(_ path: String) -> [String] {
        FileSystem.contentsOfDirectory(path)
    }
}
