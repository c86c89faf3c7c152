import CapuchinSystem

/// The service manager's readiness protocol (sd_notify(3)) without libsystemd:
/// one datagram of "KEY=value" lines to the AF_UNIX socket named by
/// `$NOTIFY_SOCKET`. Without that variable (not started by systemd with
/// Type=notify) every call does nothing.
public final class ServiceNotifier: @unchecked Sendable {
    private let socket: DatagramSocket?
    private let log: ErrorLog

    /// Reads `$NOTIFY_SOCKET` once and removes it from the environment (as
    /// sd_notify's unset_environment does), so no child inherits it.
    public init(log: ErrorLog) {
        self.log = log
        guard let path = Environment.value("NOTIFY_SOCKET") else { socket = nil; return }
        Environment.remove("NOTIFY_SOCKET")
        do { socket = try DatagramSocket(path: path) } catch {
            log.warn("NOTIFY_SOCKET '\(path)': \(error); readiness will not be reported")
            socket = nil
        }
    }

    public var isActive: Bool { socket != nil }

    /// Every listener is open and accepting.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)\nMAINPID=\(ProcessIdentity.id)") }

    /// SIGHUP arrived: the configuration is being re-read (READY=1 follows).
    /// MONOTONIC_USEC lets systemd ≥ 253 (Type=notify-reload) match the two.
    public func reloading() { send("RELOADING=1\nMONOTONIC_USEC=\(Clock.monotonicNanos() / 1000)") }

    /// SIGTERM/SIGINT arrived: draining.
    public func stopping() { send("STOPPING=1") }

    private func send(_ message: String) {
        guard let socket else { return }
        do { try socket.send(Array(message.utf8)) } catch { log.warn("sd_notify '\(message.prefix(while: { $0 != "\n" }))': \(error)") }
    }
}
