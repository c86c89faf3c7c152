import Glibc

/// An AF_UNIX datagram socket connected to one address: the service manager's
/// notification socket (`$NOTIFY_SOCKET`, a path or, with a leading '@', an
/// abstract name). Connected at once, while the process may still be root:
/// the path's permissions are checked then, so notifications still go out
/// after the privilege drop. Non-blocking: a lost notification is not worth a
/// stalled server.
public final class DatagramSocket: @unchecked Sendable {
    public let fd: Int32

    /// Throws `SystemError` (socket, connect: ENOENT, ECONNREFUSED, EACCES), or
    /// `SystemError(EINVAL)` for a path that does not fit sockaddr_un or is not
    /// absolute nor abstract.
    public init(path: String) throws {
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path),
              abstract || bytes[0] == UInt8(ascii: "/") else {
            throw SystemError(call: "notify socket '\(path)'", errno: EINVAL)
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if abstract { raw[0] = 0 }
        }
        // Abstract names are not NUL-terminated: the length says where they end.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let descriptor = try blockingSyscall("socket(AF_UNIX, SOCK_DGRAM)") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        do {
            _ = try blockingSyscall("connect(\(path))") {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
            }
        } catch {
            FileIO.close(descriptor)
            throw error
        }
        fd = descriptor
    }

    deinit { FileIO.close(fd) }

    /// Sends one datagram. Throws `SystemError` (ECONNREFUSED, EAGAIN, ...).
    public func send(_ message: [UInt8]) throws {
        _ = try blockingSyscall("send(notify socket)") {
            message.withUnsafeBytes { buf in Glibc.send(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL)) }
        }
    }
}
