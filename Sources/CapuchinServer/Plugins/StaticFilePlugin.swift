import CapuchinSystem
import HTTPCore

/// The default content handler: GET and HEAD of the files under the site's
/// document root, taken from its `FileSource` (the direct opener, which the
/// kernel keeps beneath the root's descriptor with openat2 RESOLVE_BENEATH, or
/// the file cache around it). Conditional and Range requests are answered by
/// `RepresentationResponder`; a caching source's mark goes in `X-Cache`.
public final class StaticFilePlugin: Plugin {
    public let name = "static"
    /// The source beneath the handler and its `varyRule`, in `let`s of a box
    /// reached without a retain (`installed`): an existential in a `var` was
    /// retained and released around each call to it, every request.
    private final class Installed {
        let source: any FileSource
        /// `source.varyRule`, read once.
        let varyRule: (any EncodingVaryRule)?
        init(_ source: any FileSource) {
            self.source = source
            varyRule = source.varyRule
        }
    }

    /// Replaced only during start-up (`PluginSetup.serveFiles(from:)`), before any
    /// worker reads it: no access is ever concurrent with the write, so the
    /// per-request runtime exclusivity check is left out.
    @exclusivity(unchecked) private var installed: Installed

    public var source: any FileSource { installed.source }

    /// Methods this server knows; the static handler answers them with 405.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    public init(source: any FileSource = DirectFileSource()) {
        installed = Installed(source)
    }

    /// Puts `source` beneath the handler (at setup, before workers start).
    func install(_ source: any FileSource) {
        installed = Installed(source)
    }

    public var phases: PluginPhases { .handle }

    public func handle(_ request: HTTPRequest, context: RequestContext) -> HandlerResult {
        .respond(answer(request, context: context))
    }

    private func answer(_ request: HTTPRequest, context: RequestContext) -> Response {
        // The box outlives every request (it is replaced only before workers start).
        Unmanaged.passUnretained(installed)._withUnsafeGuaranteedRef { answer(request, context: context, $0.source, $0.varyRule) }
    }

    private func answer(_ request: HTTPRequest, context: RequestContext, _ source: any FileSource,
                        _ varyRule: (any EncodingVaryRule)?) -> Response {
        guard request.method == "GET" || request.method == "HEAD" else {
            var r = Self.knownMethods.contains(request.method)
                ? ErrorPage.response(405, headers: [("Allow", "GET, HEAD")]) : ErrorPage.response(501)
            if source.marksResponses {
                r.headers.add("X-Cache", CacheMark.bypass.rawValue)
                r.headers.add(CacheStatus.fieldName, CacheMark.bypass.cacheStatus)
            }
            return r
        }
        // The memberwise initializer (see `FileRequest.workerID`).
        let asked = FileRequest(workerID: context.connection.workerID, path: request.path, site: context.site,
                                receivedByNanos: context.receivedByNanos, settings: context.settings,
                                headers: request.headers, varyRule: varyRule)
        let lookup = source.open(asked)
        // The mark taken out and the outcome consumed by the switch: a lookup
        // switched on in place was copied for it (a retain of every field).
        let mark = lookup.mark
        let outcome = (consume lookup).outcome
        // The access log's verdict (with X-Cache on, the same as the head says:
        // the log need not look for it among a cached head's lines).
        if let mark { context.cacheVerdict = mark.rawValue }
        var response: Response
        switch consume outcome {
        case .failure(let status):
            response = ErrorPage.response(status)
        case .redirect:
            response = redirectToDirectory(request)
        case .file(let file):
            // Evaluated once, here (the responses below take the decision). The check
            // first, inline: calling the evaluation for a plain request (which answers
            // .full at once) cost ~90 instructions a hit in its arguments and the call.
            let decision: RepresentationDecision = ConditionalEvaluator.hasPreconditionOrRange(request.headers)
                ? ConditionalEvaluator.evaluate(method: request.method, presentIn: request.headers, etag: file.etag,
                                                lastModifiedSeconds: Self.lastModifiedSeconds(file), length: file.size)
                : .full
            if let head = file.head {
                // A cached file: its prebuilt head (mark included) serves a 200 and a 304.
                switch decision {
                case .full:
                    // Its body written with the head in one writev. HEAD gets the same response:
                    // the server writes no body for HEAD and takes Content-Length from the body.
                    // Returned without a local: holding it first cost a copy of the response.
                    let size = file.size
                    if mark == .hit && !request.isHead && size > 0 { source.servedHit(bytes: size, workerID: context.connection.workerID) }
                    return Response(status: 200, body: file.body.slice(offset: 0, count: size), preformattedHeaders: head)
                case .notModified:
                    // A browser revalidating: the same head less the body's fields.
                    return Response(status: 304, preformattedHeaders: file.notModifiedHead)
                default:
                    break  // 206, 412, 416: built below
                }
            }
            response = respond(request, file, decision)
            // The file's bytes only (a 412's or 416's error page is not a hit's).
            if mark == .hit && !request.isHead && (response.status == 200 || response.status == 206) && response.body.count > 0 {
                source.servedHit(bytes: response.body.count, workerID: context.connection.workerID)
            }
        }
        if let mark, source.marksResponses {
            response.headers.add("X-Cache", mark.rawValue)
            response.headers.add(CacheStatus.fieldName, mark.cacheStatus)
        }
        return response
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

    /// 200, 304, 412, 206 or 416 with headers built here. Nothing is read:
    /// the writer copies small file slices behind the head (one writev) and
    /// sendfiles the rest, or writes a cached file's slices from memory.
    /// An encoded variant (or a file that has them) carries `Content-Encoding`
    /// and `Vary` on its 200, 206 and 304; its validators and length are the variant's.
    private func respond(_ request: HTTPRequest, _ file: SourcedFile, _ decision: RepresentationDecision) -> Response {
        let rep = Representation(contentType: file.contentType, etag: file.etag,
                                 lastModifiedSeconds: Self.lastModifiedSeconds(file), size: file.size)
        guard file.variesByEncoding || file.contentEncoding != nil else {
            return RepresentationResponder.respond(request: request, representation: rep, decision: decision) {
                file.body.slice(offset: $0, count: $1)
            }
        }
        var h = HTTPHeaders()
        h.add("Last-Modified", HTTPDate.format(epochSeconds: rep.lastModifiedSeconds))
        h.add("ETag", rep.etag)
        if let coding = file.contentEncoding { h.add("Content-Encoding", coding) }
        if file.variesByEncoding { h.add("Vary", "Accept-Encoding") }
        return RepresentationResponder.respond(request: request, etag: rep.etag, lastModifiedSeconds: rep.lastModifiedSeconds,
                                               contentType: rep.contentType, size: rep.size, headers: h, decision: decision) {
            file.body.slice(offset: $0, count: $1)
        }
    }

    /// The Last-Modified a file's responses carry, in seconds.
    @inline(__always)
    private static func lastModifiedSeconds(_ file: SourcedFile) -> Int { Int(file.identity.mtimeNanos / 1_000_000_000) }

    /// `"<inode hex>-<size hex>-<mtime ns hex>"`: changes whenever the file is replaced or modified.
    public static func etag(_ id: FileIdentity) -> String {
        FileEntityTag.format(inode: id.inode, size: UInt64(bitPattern: Int64(id.size)), mtimeNanos: id.mtimeNanos)
    }
}
