import CSystemShims
import Glibc

/// A peer's address as text, and its port.
public struct PeerAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
}

/// TCP socket calls, each wrapped once. Transitional: on raw descriptors (Int32)
/// until Engine moves to `FileDescriptor`.
public enum Socket {
    /// Creates a non-blocking listening TCP socket bound to `host:port` (IPv4 or
    /// IPv6 literal; "*" or "" for any IPv4 address), with SO_REUSEADDR and, if
    /// asked, SO_REUSEPORT, and TCP_NODELAY, which Linux's accepted sockets inherit
    /// from their listener (a setsockopt per connection saved). Throws `SystemError` (EADDRINUSE, EACCES, EINVAL for
    /// a host that is not an address literal, ...).
    public static func listen(host: String, port: Int, reusePort: Bool, backlog: Int32 = 1024) throws -> Int32 {
        let isV6 = host.contains(":")
        let fd = try blockingSyscall("socket") { cap_socket_nonblock(isV6 ? AF_INET6 : AF_INET, CAP_SOCK_STREAM) }
        do {
            var one: Int32 = 1
            _ = try blockingSyscall("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if reusePort {
                _ = try blockingSyscall("setsockopt(SO_REUSEPORT)") {
                    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            _ = try blockingSyscall("setsockopt(TCP_NODELAY)") {
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if isV6 {
                var addr = sockaddr_in6()
                addr.sin6_family = sa_family_t(AF_INET6)
                addr.sin6_port = in_port_t(UInt16(port).bigEndian)
                if inet_pton(AF_INET6, host, &addr.sin6_addr) != 1 { throw SystemError(call: "inet_pton(\(host))", errno: EINVAL) }
                _ = try blockingSyscall("bind(\(host):\(port))") {
                    withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
                }
            } else {
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = in_port_t(UInt16(port).bigEndian)
                let h = (host.isEmpty || host == "*") ? "0.0.0.0" : host
                if inet_pton(AF_INET, h, &addr.sin_addr) != 1 { throw SystemError(call: "inet_pton(\(host))", errno: EINVAL) }
                _ = try blockingSyscall("bind(\(host):\(port))") {
                    withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                }
            }
            _ = try blockingSyscall("listen") { Glibc.listen(fd, backlog) }
            return fd
        } catch {
            FileIO.close(fd)
            throw error
        }
    }

    /// accept4 (non-blocking, close-on-exec). Throws `SystemError`: EMFILE/ENFILE
    /// (out of descriptors: the caller must not spin), ECONNABORTED, ...
    @inline(__always)
    public static func accept(_ listener: Int32) throws -> IOResult<Int32> {
        try retryingSyscall("accept4") { cap_accept4(listener, nil, nil) }
    }

    /// accept4 as `accept`, with the peer's address from the same call (a
    /// getpeername afterwards was one syscall more per connection); "-" and port 0
    /// for a family that is not IP.
    @inline(__always)
    public static func accept(_ listener: Int32, peer: inout PeerAddress) throws -> IOResult<Int32> {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = try withUnsafeMutablePointer(to: &storage) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                try retryingSyscall("accept4") { cap_accept4(listener, a, &len) }
            }
        }
        if case .processed = r { peer = describe(&storage) ?? PeerAddress(host: "-", port: 0) }
        return r
    }

    /// The local port of a bound socket (0 on error).
    public static func localPort(of fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        if r != 0 { return 0 }
        return describe(&storage)?.port ?? 0
    }

    private static func describe(_ storage: inout sockaddr_storage) -> PeerAddress? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var a = sin.pointee.sin_addr
                inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
                return PeerAddress(host: text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, port: Int(UInt16(bigEndian: sin.pointee.sin_port)))
            } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                var a = sin.pointee.sin6_addr
                inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
                return PeerAddress(host: text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, port: Int(UInt16(bigEndian: sin.pointee.sin6_port)))
            } }
        default:
            return nil
        }
    }

    /// Starts a non-blocking TCP connect to the numeric address `host` (IPv4 or
    /// IPv6 literal) and `port`. Returns the socket; `inProgress` true means the
    /// outcome arrives as writability (check `pendingError`). Throws
    /// `SystemError`: EINVAL for a host that is not an address literal, or the
    /// connect error (ECONNREFUSED, ENETUNREACH, EMFILE, ...).
    public static func connect(host: String, port: Int) throws -> (fd: Int32, inProgress: Bool) {
        let isV6 = host.contains(":")
        let fd = try blockingSyscall("socket") { cap_socket_nonblock(isV6 ? AF_INET6 : AF_INET, CAP_SOCK_STREAM) }
        var r: Int32
        if isV6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            if inet_pton(AF_INET6, host, &addr.sin6_addr) != 1 { FileIO.close(fd); throw SystemError(call: "inet_pton(\(host))", errno: EINVAL) }
            r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            if inet_pton(AF_INET, host, &addr.sin_addr) != 1 { FileIO.close(fd); throw SystemError(call: "inet_pton(\(host))", errno: EINVAL) }
            r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if r == 0 { return (fd, false) }
        let e = cap_errno()
        if e == EINPROGRESS || e == EINTR { return (fd, true) }
        FileIO.close(fd)
        throw SystemError(call: "connect(\(host):\(port))", errno: e)
    }

    /// The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 { return cap_errno() }
        return err
    }

    /// The first IPv4 or IPv6 address of `name` as a literal (getaddrinfo; blocks
    /// on DNS, so call it at start-up only). nil when it does not resolve.
    public static func resolve(_ name: String) -> String? {
        var addr4 = in_addr(), addr6 = in6_addr()
        if inet_pton(AF_INET, name, &addr4) == 1 || inet_pton(AF_INET6, name, &addr6) == 1 { return name }
        var hints = addrinfo()
        hints.ai_socktype = CAP_SOCK_STREAM
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        memcpy(&storage, first.pointee.ai_addr, Int(first.pointee.ai_addrlen))
        return describe(&storage)?.host
    }

    /// TCP_NODELAY on. Errors are ignored (the peer may be gone already).
    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes with a reset (SO_LINGER 0): unsent data is dropped at once, for a
    /// peer that stopped reading.
    public static func abort(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        FileIO.close(fd)
    }

    /// shutdown(2) of the write side (lingering close); errors ignored.
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// send(2) with MSG_NOSIGNAL, for a best-effort canned reply. Throws `SystemError`.
    public static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws -> IOResult<Int> {
        try retryingSyscall("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, CAP_MSG_NOSIGNAL) }
    }
}
