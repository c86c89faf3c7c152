import CapuchinSystem
import Glibc
import HTTPCore

/// The default content handler: files under the site's document root, resolved
/// by the kernel beneath the root's descriptor (openat2 RESOLVE_BENEATH), so
/// ".." and symlinks leaving the root are refused whatever the path says.
public final class StaticFilePlugin: Plugin {
    public let name = "static"

    /// Methods this server knows; the static handler answers them with 405.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    public init() {}

    public var phases: PluginPhases { .handle }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
        .respond(answer(request, context: context))
    }

    private func answer(_ request: HTTPRequest, context: RequestContext) -> Response {
        guard request.method == "GET" || request.method == "HEAD" else {
            if Self.knownMethods.contains(request.method) { return ErrorPage.response(405, headers: [("Allow", "GET, HEAD")]) }
            return ErrorPage.response(501)
        }
        guard let root = context.site.rootHandle else { return ErrorPage.response(404) }
        switch StaticPathMapper.resolve(request.path, site: context.site, root: root) {
        case .failure(let status):
            return ErrorPage.response(status)
        case .redirect:
            return redirectToDirectory(request)
        case .file(let file, let identity, let relativePath):
            return respond(request, file: file, identity: identity, relativePath: relativePath, context: context)
        }
    }

    /// 301 to the same target with a trailing slash (the raw path is reused, so
    /// its percent-encoding stays as the client sent it).
    private func redirectToDirectory(_ request: HTTPRequest) -> Response {
        var rawPath = request.target
        var query = ""
        if let q = rawPath.firstIndex(of: "?") {
            query = String(rawPath[q...])
            rawPath = String(rawPath[..<q])
        }
        return ErrorPage.response(301, headers: [("Location", rawPath + "/" + query)])
    }

    private func respond(_ request: HTTPRequest, file: OpenFile, identity: FileIdentity, relativePath: String, context: RequestContext) -> Response {
        let settings = context.settings
        let contentType = settings.contentType(forPath: relativePath)
        let rep = Representation(contentType: contentType, etag: Self.etag(identity),
                                 lastModifiedSeconds: Int(identity.mtimeNanos / 1_000_000_000), size: identity.size)
        // The writer copies small slices behind the head (one writev) and
        // sendfiles the rest; nothing is read here.
        var response = RepresentationResponder.respond(request: request, representation: rep) { offset, count in
            .file(file, offset: offset, count: count)
        }
        if response.status == 200 {
            let path = context.site.root.hasSuffix("/") ? context.site.root + relativePath : context.site.root + "/" + relativePath
            response.origin = FileOrigin(path: path, identity: identity, file: file, contentType: contentType, etag: rep.etag)
        }
        return response
    }

    /// `"<inode hex>-<size hex>-<mtime ns hex>"`: changes whenever the file is replaced or modified.
    public static func etag(_ id: FileIdentity) -> String {
        "\"\(String(id.inode, radix: 16))-\(String(id.size, radix: 16))-\(String(UInt64(bitPattern: id.mtimeNanos), radix: 16))\""
    }
}
