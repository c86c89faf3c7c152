import HTTPCore

/// Writes a start line and header fields as HTTP/1.1 bytes.
enum HeadSerializer {
    static func serialize(startLine: String, headers: HTTPHeaders) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(startLine.utf8.count + 2 + headers.fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 } + 2)
        out.append(contentsOf: startLine.utf8)
        out.append(contentsOf: [13, 10])
        appendFields(headers, to: &out)
        out.append(contentsOf: [13, 10])
        return out
    }

    /// "Name: value\r\n" for each field.
    static func appendFields(_ headers: HTTPHeaders, to out: inout [UInt8]) {
        for field in headers {
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: [58, 32])
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: [13, 10])
        }
    }
}
