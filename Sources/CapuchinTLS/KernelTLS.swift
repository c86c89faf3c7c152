import CapuchinSystem

/// Where a session's records go once the handshake's keys are known: to a
/// kernel that encrypts them (the `tls` ULP), so a response leaves by writev or
/// sendfile of its bytes on the socket, as on a plain connection. `system` is
/// the kernel's (`KernelTLSSocket`); a test puts a simulated kernel in its place.
/// A class: each kernel-TLS session holds one reference (an idle connection's size counts).
public final class KernelTLSTransmit: @unchecked Sendable { // safe: the closures of `system` hold no state; a test's own are its business
    /// Installs the transmit keys (a <linux/tls.h> crypto_info) on a connected socket. Throws on refusal.
    public let enable: (_ fd: Int32, _ cryptoInfo: UnsafeRawBufferPointer) throws -> Void
    /// Sends one whole record of another type than application data (alert, handshake).
    public let sendRecord: (_ fd: Int32, _ type: UInt8, _ bytes: UnsafeRawBufferPointer) throws -> IOResult<Int>

    public init(enable: @escaping (Int32, UnsafeRawBufferPointer) throws -> Void,
                sendRecord: @escaping (Int32, UInt8, UnsafeRawBufferPointer) throws -> IOResult<Int>) {
        self.enable = enable
        self.sendRecord = sendRecord
    }

    public static let system = KernelTLSTransmit(enable: { try KernelTLSSocket.enableTransmit($0, cryptoInfo: $1) },
                                                 sendRecord: { try KernelTLSSocket.sendRecord($0, type: $1, $2) })
}

/// Whether this process uses kernel TLS: probed once (a loopback connection),
/// asked by each TLS listener at start (`ktls: auto|off`).
public enum KernelTLS {
    /// nil when the kernel offers the `tls` ULP, else why not (the probe's error, e.g.
    /// "setsockopt(TCP_ULP, tls): No such file or directory (errno 2)").
    public static let unavailableReason: String? = KernelTLSSocket.probe().map { "\($0)" }

    /// The transmit path for a listener that wants kernel TLS (`ktls: auto`): the
    /// kernel's when it offers it, nil (records encrypted in user space) otherwise.
    public static func transmit(wanted: Bool) -> KernelTLSTransmit? {
        wanted && unavailableReason == nil ? .system : nil
    }

    /// The mode as the start-up log names it.
    public static func modeDescription(wanted: Bool) -> String {
        if !wanted { return "userspace records (ktls: off)" }
        if let reason = unavailableReason { return "userspace records (kernel has no tls ULP: \(reason))" }
        return "kernel TLS (tx)"
    }
}
