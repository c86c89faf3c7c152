import CapuchinSystem
import CapuchinTLS

/// The event loop's record of one client socket: its epoll token and interest,
/// the transport bytes go through and the HTTP/1 connection they carry. The
/// loop knows this much of a client; the connection knows nothing of it.
final class ClientSocket: DescriptorOwner {
    var transport: SocketTransport
    let token: UInt64
    var interest: UInt32
    let http: HTTP1Connection
    /// The TLS session of a connection from a TLS listener (its bytes then go
    /// through a `TLSTransport` around it); nil: plain.
    let tls: TLSSession?
    /// The transport around `tls` (with the worker's scratch and record batch),
    /// kept with the socket: built for each read and write, it retained and
    /// released its references every time (five pairs a request).
    var tlsTransport: TLSTransport?

    init(fd: Int32, token: UInt64, interest: UInt32, http: HTTP1Connection,
         tls: (session: TLSSession, scratch: UnsafeMutableRawPointer, batch: TLSRecordBatch)? = nil) {
        transport = SocketTransport(fd: fd)
        self.tls = tls?.session
        if let tls { tlsTransport = TLSTransport(session: tls.session, fd: fd, scratch: tls.scratch, batch: tls.batch) }
        self.token = token
        self.interest = interest
        self.http = http
        http.token = token
    }

    var fd: Int32 { transport.fd }
}
