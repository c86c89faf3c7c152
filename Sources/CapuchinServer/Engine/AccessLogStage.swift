import CapuchinSystem

/// The logger stage of the request pipeline: formats one Common Log Format
/// line (with referer and agent) per answered request into a per-loop buffer
/// and hands full buffers to the `AccessLogWriter` thread, so no request waits on disk.
final class AccessLogStage {
    private let writer: AccessLogWriter
    private var lines: [UInt8] = []
    private static let flushBytes = 32 << 10
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    init(writer: AccessLogWriter) {
        self.writer = writer
        lines.reserveCapacity(Self.flushBytes + 1024)
    }

    /// One line; `requestLine` nil for a request that could not be parsed.
    func record(peer: String, stamp: [UInt8], requestLine: String?, status: Int, bytes: Int, referer: String?, agent: String?) {
        lines.append(contentsOf: peer.utf8)
        lines.append(contentsOf: " - - ".utf8)
        lines.append(contentsOf: stamp)
        lines.append(contentsOf: " \"".utf8)
        appendEscaped(requestLine ?? "-")
        lines.append(contentsOf: "\" ".utf8)
        ResponseHeadWriter.appendDecimal(status, to: &lines)
        lines.append(32)
        ResponseHeadWriter.appendDecimal(bytes, to: &lines)
        lines.append(contentsOf: " \"".utf8)
        appendEscaped(referer ?? "-")
        lines.append(contentsOf: "\" \"".utf8)
        appendEscaped(agent ?? "-")
        lines.append(contentsOf: "\"\n".utf8)
        if lines.count >= Self.flushBytes { flush() }
    }

    /// Quotes, backslashes and control bytes become \xHH so a line cannot be forged.
    private func appendEscaped(_ s: String) {
        for b in s.utf8 {
            if b < 0x20 || b == 0x7f || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                lines.append(contentsOf: [92, 120, Self.hex[Int(b >> 4)], Self.hex[Int(b & 15)]])
            } else {
                lines.append(b)
            }
        }
    }

    /// Hands the buffered lines to the writer thread (each sweep and at exit).
    func flush() {
        guard !lines.isEmpty else { return }
        writer.submit(lines)
        lines = []
        lines.reserveCapacity(Self.flushBytes + 1024)
    }
}
