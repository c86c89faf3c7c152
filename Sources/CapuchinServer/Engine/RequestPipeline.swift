import CapuchinSystem
import HTTPCore

/// The stages a parsed request goes through, as nginx's phases: site
/// selection, early answers (`requestParsed`), the content handlers, the
/// response filters, then the log stage (`requestDone` hooks; the access log is
/// the connection environment's `AccessLogStage`). Each stage keeps only the
/// plugins that registered for it (`Plugin.phases`). Immutable and shared by
/// every worker: one for the public listeners, one per plugin listener.
final class RequestPipeline: @unchecked Sendable {
    /// Public listeners choose the site by Host; a plugin's own listener serves the default site.
    let selectsSiteByHost: Bool
    // The request stages call their plugins without retaining them (an
    // existential taken out of an array was retained and released around
    // every call: a pair per plugin and stage, each request).
    private let parsedHooks: UnretainedReferences<PluginReference>
    private let handlers: UnretainedReferences<PluginReference>
    private let filters: UnretainedReferences<PluginReference>
    private let doneHooks: UnretainedReferences<PluginReference>
    /// Connection hooks see every connection, whichever listener it came from.
    private let acceptHooks: [any Plugin]
    private let closeHooks: [any Plugin]

    /// `requestPlugins` answer this pipeline's requests in order; `connectionPlugins`
    /// get the connection hooks.
    init(requestPlugins: [any Plugin], connectionPlugins: [any Plugin], selectsSiteByHost: Bool) {
        self.selectsSiteByHost = selectsSiteByHost
        func registered(_ plugins: [any Plugin], _ phase: PluginPhases) -> [any Plugin] {
            plugins.filter { $0.phases.contains(phase) }
        }
        func registered(_ phase: PluginPhases) -> UnretainedReferences<PluginReference> {
            UnretainedReferences(requestPlugins.filter { $0.phases.contains(phase) }.map(PluginReference.init))
        }
        parsedHooks = registered(.requestParsed)
        handlers = registered(.handle)
        filters = registered(.filter)
        doneHooks = registered(.requestDone)
        acceptHooks = registered(connectionPlugins, .connectionAccepted)
        closeHooks = registered(connectionPlugins, .connectionClosed)
    }

    @inline(__always)
    func site(for request: HTTPRequest, in settings: RuntimeSettings) -> Site {
        selectsSiteByHost ? settings.sites.select(host: request.host) : settings.sites.defaultSite
    }

    /// An early answer from a `requestParsed` hook, else the first content
    /// handler that does not pass, else 404. Never `.pass`.
    @inline(__always)
    func produce(_ request: HTTPRequest, _ ctx: RequestContext) -> HandlerResult {
        for i in 0..<parsedHooks.count {
            if let r = parsedHooks.with(i, { $0.plugin.requestParsed(request, context: ctx) }) { return .respond(r) }
        }
        for i in 0..<handlers.count {
            let result = handlers.with(i) { $0.plugin.handle(request, context: ctx) }
            if case .pass = result { continue }
            return result
        }
        return .respond(ErrorPage.response(404))
    }

    @inline(__always)
    func filter(_ request: HTTPRequest, _ response: inout Response, _ ctx: RequestContext) {
        for i in 0..<filters.count { filters.with(i) { $0.plugin.filter(request, response: &response, context: ctx) } }
    }

    @inline(__always)
    func requestDone(_ request: HTTPRequest, status: Int, bytes: Int, _ ctx: RequestContext) {
        for i in 0..<doneHooks.count {
            doneHooks.with(i) { $0.plugin.requestDone(request, status: status, bytes: bytes, context: ctx) }
        }
    }

    /// False when a plugin refuses the connection.
    func accepts(_ info: ConnectionInfo) -> Bool {
        for plugin in acceptHooks where !plugin.connectionAccepted(info) { return false }
        return true
    }

    func connectionClosed(_ info: ConnectionInfo) {
        for plugin in closeHooks { plugin.connectionClosed(info) }
    }
}

/// A plugin in a `let` of an object: reached through `UnretainedReferences`,
/// a call to it retains nothing (a `let` of a guaranteed object is borrowed).
private final class PluginReference {
    let plugin: any Plugin
    init(_ plugin: any Plugin) { self.plugin = plugin }
}
