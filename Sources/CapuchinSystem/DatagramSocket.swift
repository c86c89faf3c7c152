import Glibc

/// An unbound AF_UNIX datagram socket that sends to one address: the service
/// manager's notification socket (`$NOTIFY_SOCKET`, a path or, with a leading
/// '@', an abstract name). Sends never block the caller for long: the socket
/// is non-blocking and a lost notification is not worth a stalled server.
public final class DatagramSocket: @unchecked Sendable {
    public let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t

    /// Throws `SystemError` (socket), or `SystemError(EINVAL)` for a path that
    /// does not fit sockaddr_un or is not absolute nor abstract.
    public init(path: String) throws {
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, bytes[0] == UInt8(ascii: "/") || bytes[0] == UInt8(ascii: "@") else {
            throw SystemError(call: "notify socket '\(path)'", errno: EINVAL)
        }
        fd = try blockingSyscall("socket(AF_UNIX, SOCK_DGRAM)") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if bytes[0] == UInt8(ascii: "@") { raw[0] = 0 }   // abstract namespace
        }
        // Abstract names are not NUL-terminated: the length says where they end.
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes[0] == UInt8(ascii: "@") ? 0 : 1))
    }

    deinit { FileIO.close(fd) }

    /// Sends one datagram. Throws `SystemError` (ECONNREFUSED, EAGAIN, ...).
    public func send(_ message: [UInt8]) throws {
        var addr = address
        let len = addressLength
        _ = try blockingSyscall("sendto(notify socket)") {
            message.withUnsafeBytes { buf in
                withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0, len)
                    }
                }
            }
        }
    }
}
