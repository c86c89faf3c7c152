import CapuchinSystem
import Foundation
import HTTPCore
@testable import CapuchinServer

/// A socket in memory: each write takes at most `writeLimit` bytes (nil: all
/// of them; 0: would block), and every write's bytes are kept as one chunk.
struct MemoryTransport: Transport {
    var writeLimit: Int?
    private(set) var chunks: [[UInt8]] = []
    private(set) var writeCalls = 0
    private(set) var outputShutdown = false

    mutating func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> IOResult<Int> { .wouldBlock }

    mutating func write(_ vectors: IOVectors) throws -> IOResult<Int> {
        writeCalls += 1
        var budget = writeLimit ?? Int.max
        var taken: [UInt8] = []
        for i in 0..<vectors.count where budget > 0 {
            let range = vectors[i]
            let k = min(range.count, budget)
            taken.append(contentsOf: range.prefix(k))
            budget -= k
        }
        if taken.isEmpty && vectors.totalBytes > 0 { return .wouldBlock }
        chunks.append(taken)
        return .processed(taken.count)
    }

    mutating func send(file: OpenFile, offset: Int, count: Int) throws -> IOResult<Int> {
        writeCalls += 1
        let k = min(count, writeLimit ?? Int.max)
        if k == 0 { return .wouldBlock }
        var bytes = [UInt8](repeating: 0, count: k)
        let n = try bytes.withUnsafeMutableBytes { try FileIO.pread(file.fd, into: $0.baseAddress!, count: k, offset: offset) }
        chunks.append(Array(bytes.prefix(n)))
        return .processed(n)
    }

    mutating func shutdownOutput() { outputShutdown = true }

    /// Everything written so far, as text.
    var text: String { String(decoding: chunks.joined(), as: UTF8.self) }
}

/// One `HTTP1Connection` driven in memory, as swift-nio's EmbeddedChannel
/// drives a channel: feed bytes, advance a manual clock, limit what the
/// "socket" takes per write, read the output chunks. It does what the
/// worker's loop does with the connection's answers (service now or at the
/// end of the iteration, writability, timeouts, close), nothing more.
final class EmbeddedConnection {
    enum State: Equatable { case open, waitingForWritable, lingering, closed(reset: Bool) }

    let environment: ConnectionEnvironment
    let connection: HTTP1Connection
    var transport = MemoryTransport()
    private(set) var state = State.open
    private var consumed = 0

    init(plugins: [any Plugin], configure: (inout ServerConfig) -> Void = { _ in }) {
        var config = ServerConfig()
        configure(&config)
        let settings = RuntimeSettings(config: config, sites: RuntimeSettings.standalone.sites)
        environment = ConnectionEnvironment(workerID: 0, settings: settings, parser: RequestParser(), counters: LoopCounters(),
                                            log: ErrorLog(level: .error), accessLog: nil)
        environment.now = 1_000_000_000
        environment.dates.refresh()
        let pipeline = RequestPipeline(requestPlugins: plugins, connectionPlugins: plugins, selectsSiteByHost: true)
        let info = ConnectionInfo(id: 1, workerID: 0, peerAddress: "192.0.2.1", peerPort: 40000, localPort: 80)
        connection = HTTP1Connection(info: info, pipeline: pipeline, environment: environment)
    }

    var isClosed: Bool { if case .closed = state { return true }; return false }

    /// Bytes from the client, then the end of the loop iteration. Like the
    /// worker, nothing is read while output waits for writability.
    func feed(_ text: String) { feed(Array(text.utf8)) }

    func feed(_ bytes: [UInt8]) {
        precondition(state != .waitingForWritable, "the loop does not read while output is blocked")
        guard !isClosed else { return }
        let now = bytes.withUnsafeBytes { connection.receive($0) }
        if now { service(writable: false) }
        endIteration()
    }

    /// The socket became writable (after `transport.writeLimit` changed, say).
    func writable() {
        guard state == .waitingForWritable else { return }
        service(writable: true)
        endIteration()
    }

    /// Writable events until the output drained or `limit` rounds passed.
    func drain(limit: Int = 100_000) {
        var rounds = 0
        while state == .waitingForWritable && rounds < limit { writable(); rounds += 1 }
    }

    /// The loop's end-of-iteration flush (deferred completions made outside a read land here).
    func endIteration() {
        environment.drainServiceList { c in
            guard c === connection, !isClosed else { return }
            service(writable: false)
        }
    }

    /// Moves the clock on and runs the loop's timeout sweep.
    func advance(bySeconds seconds: Double) {
        environment.now &+= UInt64(seconds * 1e9)
        guard !isClosed else { return }
        if connection.hasTimedOut(now: environment.now, HTTP1Connection.Timeouts(environment.settings.config)) {
            close(reset: connection.outputBlocked)
        }
    }

    private func service(writable: Bool) {
        switch connection.service(&transport, writable: writable) {
        case .idle: state = .open
        case .waitingForWritable: state = .waitingForWritable
        case .lingering: state = .lingering
        case .close(let reset): close(reset: reset)
        }
    }

    private func close(reset: Bool) {
        state = .closed(reset: reset)
        connection.didClose()
    }

    /// Output written since the last call, as text.
    func takeOutput() -> String {
        let all = transport.chunks.joined()
        let text = String(decoding: all.dropFirst(consumed), as: UTF8.self)
        consumed = all.count
        return text
    }
}

/// A response read back from the output (Content-Length framing only).
struct ParsedResponse {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    /// Splits `text` into responses; `bodiless` holds the indexes of HEAD answers.
    static func parseAll(_ text: String, bodiless: Set<Int> = []) -> [ParsedResponse] {
        var out: [ParsedResponse] = []
        var rest = Substring(text)
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            let headers = lines.dropFirst().map { line -> (String, String) in
                let colon = line.firstIndex(of: ":")!
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            var r = ParsedResponse(status: status, headers: headers, body: "")
            rest = rest[end.upperBound...]
            let length = bodiless.contains(out.count) ? 0 : Int(r.header("Content-Length") ?? "0") ?? 0
            r.body = String(rest.prefix(length))
            rest = rest.dropFirst(length)
            out.append(r)
        }
        return out
    }
}
