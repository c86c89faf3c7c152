import CapuchinServer
import CapuchinSystem
import CapuchinTLS

/// One backend's health check connection: connects, sends the check request,
/// reads up to the status line and closes; reports the status (nil and why
/// when there is none) once. Worker-thread only.
final class HealthProbe: OutboundHandler {
    let backend: Int
    var successesInARow = 0
    var failuresInARow = 0
    private var connection: OutboundConnection?
    private var timer: TimerHandle?
    private var received: [UInt8] = []
    private var request: [UInt8] = []
    private var done: ((Int?, String) -> Void)?

    init(backend: Int) { self.backend = backend }

    var isRunning: Bool { done != nil }

    func begin(loop: EventLoop, host: String, port: Int, tls: TLSClientContext? = nil, serverName: String = "",
               request: [UInt8], timeoutNanos: UInt64, done: @escaping (Int?, String) -> Void) {
        self.done = done
        self.request = request
        received = []
        do {
            connection = try loop.connect(host: host, port: port, handler: self, tls: tls, serverName: serverName)
        } catch {
            return finish(nil, "\(error)")
        }
        timer = loop.schedule(after: timeoutNanos) { [weak self] in self?.finish(nil, "timed out") }
    }

    func cancel() {
        done = nil
        finish(nil, "")
    }

    private func finish(_ status: Int?, _ why: String) {
        timer?.cancel()
        timer = nil
        connection?.close()
        connection = nil
        let cb = done
        done = nil
        cb?(status, why)
    }

    func outboundConnected(_ c: OutboundConnection) { c.send(request) }

    func outboundReadable(_ c: OutboundConnection, _ bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        guard let end = received.firstIndex(of: 10) else {
            if received.count > 1024 { finish(nil, "no status line in the first 1 KiB") }
            return
        }
        finish(Self.status(ofLine: received[..<end]), "malformed status line")
    }

    func outboundWritable(_ c: OutboundConnection) {}

    func outboundClosed(_ c: OutboundConnection, error: SystemError?) {
        connection = nil
        finish(nil, error.map { "\($0)" } ?? "closed without a status line")
    }

    /// The status code of `HTTP/1.x NNN ...`; nil when the line is not one.
    static func status(ofLine line: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let n = Int(parts[1]), (100...599).contains(n) else {
            return nil
        }
        return n
    }
}
