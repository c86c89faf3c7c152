import CapuchinSystem
import HTTPCore

/// Serializes a response head into a byte buffer: status line, Date, Server,
/// the handler's headers, preformatted lines, Content-Length and Connection.
enum ResponseHeadWriter {
    /// The constant lines as bytes that live as long as the process: appending
    /// them retains nothing (a static array was retained and released on every append).
    /// One global of plain pointers: each lazily made global is a `swift_once`
    /// call at every use (five a response when they were five), and a copy of
    /// this one retains nothing.
    private struct ConstantLines {
        let status: UnsafeBufferPointer<UnsafeBufferPointer<UInt8>> = {
            let lines = UnsafeMutableBufferPointer<UnsafeBufferPointer<UInt8>>.allocate(capacity: 600)
            _ = lines.initialize(from: (0..<600).map { code in immortal("HTTP/1.1 \(code) \(HTTPStatus.reasonPhrase(code))\r\n") })
            return UnsafeBufferPointer(lines)
        }()
        let server = immortal("Server: capuchin\r\n")
        let close = immortal("Connection: close\r\n")
        let keepAlive = immortal("Connection: keep-alive\r\n")
        let contentLengthPrefix = immortal("Content-Length: ")
        let crlf = immortal("\r\n")
    }
    private static let lines = ConstantLines()

    /// (Typed, not raw: an array appends a typed buffer with one memcpy, a raw one through its iterator.)
    private static func immortal(_ text: String) -> UnsafeBufferPointer<UInt8> {
        let bytes = Array(text.utf8)
        let memory = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = memory.initialize(from: bytes)
        return UnsafeBufferPointer(memory)
    }

    /// Whether a response with this status carries no body and no Content-Length.
    @inline(__always)
    static func statusForbidsBody(_ status: Int) -> Bool {
        status < 200 || status == 204 || status == 304
    }

    /// Appends the head; `keepAlive` false adds `Connection: close`; an HTTP/1.0
    /// keep-alive adds `Connection: keep-alive`.
    /// `omitLength`: a streamed body whose framing the headers give (no Content-Length from `body`).
    /// The head is put together in a temporary buffer and appended with one
    /// copy: appending each line to the array cost about 100 instructions a line.
    static func write(_ r: Response, into buf: inout [UInt8], dateLine: DateLine, keepAlive: Bool, http10: Bool, omitLength: Bool = false) {
        let status = (100..<600).contains(r.status) ? r.status : 500
        let lines = Self.lines
        let statusLine = lines.status[status], crlf = lines.crlf
        var bound = statusLine.count + dateLine.count + lines.server.count + lines.contentLengthPrefix.count + 20
            + lines.keepAlive.count + 3 * crlf.count + (r.preformattedHeaders?.count ?? 0)
        for f in r.headers.fields { bound += f.name.utf8.count + f.value.utf8.count + 4 }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { memory in
            var head = HeadCursor(memory)
            head.put(statusLine)
            if !r.carriesDate { dateLine.withBytes { head.put($0) } }
            head.put(lines.server)
            var hasLength = false
            for f in r.headers.fields {
                if f.name.utf8.count == 14 && f.name.caseInsensitiveEquals("Content-Length") { hasLength = true }
                if f.name.utf8.count == 10 && f.name.caseInsensitiveEquals("Connection") { continue }
                head.put(f.name)
                head.put(58); head.put(32)
                head.put(f.value)
                head.put(crlf)
            }
            r.preformattedHeaders?.withUnsafeBufferPointer { head.put($0) }
            if !hasLength && !omitLength && !statusForbidsBody(status) {
                head.put(lines.contentLengthPrefix)
                head.putDecimal(r.body.count)
                head.put(crlf)
            }
            if !keepAlive { head.put(lines.close) } else if http10 { head.put(lines.keepAlive) }
            head.put(crlf)
            buf.append(contentsOf: head.written)
        }
    }

    /// Where the head is being written (the bound computed beforehand holds it all).
    private struct HeadCursor {
        let memory: UnsafeMutableBufferPointer<UInt8>
        var count = 0

        init(_ memory: UnsafeMutableBufferPointer<UInt8>) { self.memory = memory }

        var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: memory[..<count]) }

        @inline(__always)
        mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
            precondition(count + bytes.count <= memory.count, "response head outgrew its bound")
            if bytes.isEmpty { return }
            (memory.baseAddress! + count).update(from: bytes.baseAddress!, count: bytes.count)
            count += bytes.count
        }

        @inline(__always)
        mutating func put(_ byte: UInt8) {
            precondition(count < memory.count, "response head outgrew its bound")
            memory[count] = byte
            count += 1
        }

        @inline(__always)
        mutating func put(_ text: String) { withUTF8Bytes(text) { put($0) } }

        mutating func putDecimal(_ value: Int) {
            var digits = 1, v = value
            while v >= 10 { v /= 10; digits += 1 }
            precondition(value >= 0 && count + digits <= memory.count, "response head outgrew its bound")
            v = value
            for i in stride(from: count + digits - 1, through: count, by: -1) { memory[i] = UInt8(48 + v % 10); v /= 10 }
            count += digits
        }
    }
}
