import CSystemShims
import Glibc

/// The kernel's TLS (the `tls` upper-layer protocol of TCP, Linux 4.13+) on a
/// connected socket: once its transmit keys are installed, what is written to
/// the socket (write, writev, sendfile) goes out as TLS records the kernel
/// encrypts; a record of another type than application data is sent with a
/// `TLS_SET_RECORD_TYPE` control message. The keys come from OpenSSL
/// (CapuchinTLS); here are only the system calls.
public enum KernelTLSSocket {
    /// nil when this kernel attaches the `tls` ULP to an established TCP socket
    /// (probed on a loopback connection made for it), else the error it gave
    /// (ENOENT: the `tls` module is not there).
    public static func probe() -> SystemError? {
        let listener: Int32
        do { listener = try Socket.listen(host: "127.0.0.1", port: 0, reusePort: false, backlog: 1) } catch let e as SystemError {
            return e
        } catch { return SystemError(call: "probe", errno: EINVAL) }
        defer { FileIO.close(listener) }
        let client: Int32
        do { client = try Socket.connect(host: "127.0.0.1", port: Socket.localPort(of: listener)).fd } catch let e as SystemError {
            return e
        } catch { return SystemError(call: "probe", errno: EINVAL) }
        defer { FileIO.close(client) }
        // A loopback connect completes at once; wait for it, bounded (the backlog is ours alone).
        var pfd = pollfd(fd: client, events: Int16(POLLOUT), revents: 0)
        _ = poll(&pfd, 1, 1000)
        return attachULP(client)
    }

    /// Attaches the `tls` ULP and installs the transmit keys: `cryptoInfo` is a
    /// `struct tls12_crypto_info_*` of <linux/tls.h> (as OpenSSL fills it).
    /// Throws `SystemError`: ENOENT (no `tls` module), EEXIST, EINVAL, ENOTCONN...
    public static func enableTransmit(_ fd: Int32, cryptoInfo: UnsafeRawBufferPointer) throws {
        if let e = attachULP(fd) { throw e }
        _ = try blockingSyscall("setsockopt(SOL_TLS, TLS_TX)") {
            setsockopt(fd, CAP_SOL_TLS, CAP_TLS_TX, cryptoInfo.baseAddress, socklen_t(cryptoInfo.count))
        }
    }

    /// Sends `bytes` as one record of `type` (an alert, a TLS 1.3 post-handshake
    /// message) on a socket with the transmit keys installed. Throws `SystemError`.
    public static func sendRecord(_ fd: Int32, type: UInt8, _ bytes: UnsafeRawBufferPointer) throws -> IOResult<Int> {
        try retryingSyscall("sendmsg(TLS_SET_RECORD_TYPE)") { cap_send_tls_record(fd, type, bytes.baseAddress, bytes.count) }
    }

    private static func attachULP(_ fd: Int32) -> SystemError? {
        let r = "tls".withCString { setsockopt(fd, Int32(IPPROTO_TCP), TCP_ULP, $0, 4) }  // "tls" and its NUL, as OpenSSL passes it
        return r == 0 ? nil : SystemError(call: "setsockopt(TCP_ULP, tls)", errno: cap_errno())
    }
}
