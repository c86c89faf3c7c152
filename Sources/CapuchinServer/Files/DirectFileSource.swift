import CapuchinSystem

/// The default file source: opens each file beneath its site's root
/// (openat2 RESOLVE_BENEATH, `StaticPathMapper`) on every request and hands
/// the open descriptor to the writer (read behind the head or sendfile'd).
/// Stateless, so one instance serves every worker.
public final class DirectFileSource: FileSource {
    public init() {}

    /// The open file, its identity and the path below the root it was found at
    /// (a directory's index file), or why not. A site without an open root is a 404.
    public func resolve(_ request: FileRequest) -> StaticPathMapper.Outcome {
        guard let root = request.site.rootHandle else { return .failure(status: 404) }
        return StaticPathMapper.resolve(request.path, site: request.site, root: root)
    }

    public func open(_ request: FileRequest) -> FileLookup {
        switch resolve(request) {
        case .failure(let status): return FileLookup(.failure(status: status))
        case .redirect: return FileLookup(.redirect)
        case .file(let file, let identity, let relativePath):
            let root = request.site.root
            let contentType = request.settings.contentType(forPath: relativePath)
            return FileLookup(.file(SourcedFile(identity: identity, contentType: contentType,
                                                etag: StaticFilePlugin.etag(identity), body: .file(file),
                                                originPath: root.hasSuffix("/") ? root + relativePath : root + "/" + relativePath,
                                                variesByEncoding: request.varies(contentType: contentType, size: identity.size))))
        }
    }
}
