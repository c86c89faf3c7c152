/// An admin answer before it becomes a server `Response`.
struct AdminReply: Equatable {
    var status: Int
    var contentType: String
    var body: [UInt8]
    var headers: [(String, String)] = []

    static func == (a: AdminReply, b: AdminReply) -> Bool {
        a.status == b.status && a.contentType == b.contentType && a.body == b.body
            && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> AdminReply {
        AdminReply(status: status, contentType: "application/json", body: AdminJSON.encode(value))
    }

    static func error(_ e: AdminError) -> AdminReply {
        var r = json(e.status, ["error": e.message])
        if case .unauthorized = e { r.headers.append(("WWW-Authenticate", "Bearer realm=\"capuchin-admin\"")) }
        if case .methodNotAllowed(let allow) = e { r.headers.append(("Allow", allow)) }
        return r
    }
}
