import CapuchinSystem

/// Maps a request path to a file under a site's root: directories to their
/// index file, errors to statuses.
public enum StaticPathMapper {
    public enum Outcome {
        /// An open regular file and the path (relative to the root) it was found at.
        case file(OpenFile, FileIdentity, relativePath: String)
        /// A directory requested without its trailing slash.
        case redirect
        case failure(status: Int)
    }

    /// `path` is the parser's decoded, dot-segment-free absolute path.
    public static func resolve(_ path: String, site: Site, root: DirectoryHandle) -> Outcome {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else { return .failure(status: 400) }
        var relative = String(path.dropFirst())
        if relative.isEmpty { relative = "." }
        let confined = !site.allowSymlinksOutsideRoot
        let fd: FileDescriptor
        do { fd = try PathOpener.open(relative, beneath: root.descriptor, confined: confined) } catch let e as SystemError {
            return .failure(status: status(for: e.code))
        } catch {
            return .failure(status: 500)
        }
        let file = OpenFile(adopting: fd)
        guard let identity = try? fd.identity() else { return .failure(status: 500) }
        if identity.isRegular {
            // "/file/" names a directory; a regular file there is a 404, as nginx answers.
            return path.hasSuffix("/") ? .failure(status: 404) : .file(file, identity, relativePath: relative)
        }
        guard identity.isDirectory else { return .failure(status: 403) }
        if !path.hasSuffix("/") { return .redirect }
        for index in site.indexFiles {
            guard let ifd = try? PathOpener.open(index, beneath: fd, confined: confined) else { continue }
            let indexFile = OpenFile(adopting: ifd)
            if let id = try? ifd.identity(), id.isRegular {
                let rel = relative == "." ? index : (relative.hasSuffix("/") ? relative : relative + "/") + index
                return .file(indexFile, id, relativePath: rel)
            }
        }
        return .failure(status: 403)
    }

    static func status(for errno: Errno) -> Int {
        switch errno {
        case .noSuchFileOrDirectory, .notDirectory, .fileNameTooLong: return 404
        // Outside the root (EXDEV), a symlink where none are allowed (ELOOP): as if absent.
        case .crossDeviceLink, .tooManySymbolicLinkLevels: return 404
        case .permissionDenied, .notPermitted: return 403
        case .invalidArgument: return 400
        default: return 500
        }
    }
}
