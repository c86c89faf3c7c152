import HTTPCore

/// Small HTML error responses, one body per status built once.
public enum ErrorPage {
    private static let bodies: [Int: [UInt8]] = {
        var d: [Int: [UInt8]] = [:]
        for code in [400, 403, 404, 405, 408, 411, 413, 414, 416, 421, 431, 500, 501, 502, 503, 504, 505] {
            d[code] = render(code)
        }
        return d
    }()

    static func render(_ code: Int) -> [UInt8] {
        let reason = HTTPStatus.reasonPhrase(code)
        return Array("<!DOCTYPE html>\n<html><head><title>\(code) \(reason)</title></head>\n<body><h1>\(code) \(reason)</h1><hr><p>capuchin</p></body></html>\n".utf8)
    }

    /// A response with a small HTML page for `status`.
    public static func response(_ status: Int, headers extra: [(String, String)] = []) -> Response {
        var h = HTTPHeaders()
        h.add("Content-Type", "text/html; charset=utf-8")
        for (n, v) in extra { h.add(n, v) }
        return Response(status: status, headers: h, body: .bytes(bodies[status] ?? render(status)))
    }
}
