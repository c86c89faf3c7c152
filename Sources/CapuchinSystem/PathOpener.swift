import CSystemShims
import Glibc
import Synchronization

/// Opens paths below a directory descriptor so the kernel, not string checks,
/// keeps them inside it.
public enum PathOpener {
    /// Whether openat2 is missing (ENOSYS on kernels before 5.6): learnt on the
    /// first open by any worker, read relaxed by all (a stale read costs one ENOSYS).
    private static let openat2Missing = Atomic<Bool>(false)

    /// See `open(_:beneath:confined:)` on raw descriptors.
    public static func open(_ path: String, beneath directory: FileDescriptor, confined: Bool) throws -> FileDescriptor {
        FileDescriptor(rawValue: try open(path, beneath: directory.rawValue, confined: confined))
    }

    /// Transitional: used by Engine and StaticFilePlugin until they move to `FileDescriptor`.
    /// Opens `path` (relative, no NUL, no ".." segments) read-only below `directory`.
    /// With `confined`, openat2 RESOLVE_BENEATH refuses any resolution that leaves
    /// the directory (absolute or escaping symlinks, "..") with EXDEV; without
    /// openat2 the fallback walks each component with O_NOFOLLOW (no symlinks at
    /// all). Without `confined`, symlinks may point anywhere.
    /// Throws `SystemError` (ENOENT, EACCES, EXDEV, ELOOP, ENOTDIR, EINVAL for a NUL byte).
    public static func open(_ path: String, beneath directory: Int32, confined: Bool) throws -> Int32 {
        if path.utf8.contains(0) { throw SystemError(call: "openat2", errno: EINVAL) }
        let flags = O_RDONLY | O_NOCTTY | O_NONBLOCK
        if !confined {
            return try blockingSyscall("openat") { openat(directory, path, flags | O_CLOEXEC) }
        }
        if !openat2Missing.load(ordering: .relaxed) {
            do {
                return try blockingSyscall("openat2") { cap_openat2_beneath(directory, path, flags, 0) }
            } catch let e as SystemError where e.code == .noFunction {
                openat2Missing.store(true, ordering: .relaxed)
            }
        }
        return try openComponentwise(path, beneath: directory, flags: flags)
    }

    /// Fallback without openat2: one openat per component, never following a symlink.
    private static func openComponentwise(_ path: String, beneath directory: Int32, flags: Int32) throws -> Int32 {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains(where: { $0 == ".." }) { throw SystemError(call: "openat", errno: EXDEV) }
        if parts.isEmpty { return try blockingSyscall("openat") { openat(directory, ".", flags | O_CLOEXEC) } }
        var current = directory
        defer { if current != directory { FileIO.close(current) } }
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let f = last ? flags : (O_RDONLY | O_DIRECTORY)
            let next = try blockingSyscall("openat") { openat(current, String(part), f | O_NOFOLLOW | O_CLOEXEC) }
            if current != directory { FileIO.close(current) }
            if last { current = directory; return next }
            current = next
        }
        return -1
    }
}
