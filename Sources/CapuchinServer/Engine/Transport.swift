import CapuchinSystem

/// What an HTTP/1 connection's bytes go through: the plain socket today, TLS
/// next. The connection frames requests and responses and never sees the
/// descriptor; the transport only moves bytes. Methods are generic
/// requirements, so the event loop's calls are specialised for the concrete
/// transport (no dynamic dispatch per write).
protocol Transport {
    /// Reads up to `count` bytes; `.processed(0)` is end of stream. Throws `SystemError`.
    mutating func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> IOResult<Int>
    /// Writes the ranges in order (a prefix may be taken). Throws `SystemError`.
    mutating func write(_ vectors: IOVectors) throws -> IOResult<Int>
    /// Sends `count` bytes of `file` from `offset` (0: the file is shorter).
    /// A TLS transport reads and encrypts instead. Throws `SystemError`.
    mutating func send(file: OpenFile, offset: Int, count: Int) throws -> IOResult<Int>
    /// Half-close for a lingering close: no more output, input still read.
    mutating func shutdownOutput()
    /// The connection's output ends after `bytes` more are written (it closes or
    /// lingers then): a TLS transport sends its close_notify with the last of
    /// them, in the same send(2) and TCP segment.
    mutating func closesAfter(bytes: Int)
    /// Whether `send(file:)` is the kernel's sendfile, so a mapped body that
    /// has an immutable file of its own (`MappedFile.immutableFile`) goes that
    /// way rather than copied from memory (false: TLS encrypts from memory).
    static var sendsFiles: Bool { get }
    /// `write(_:)` followed at once by a `send(file:)` (a head before its
    /// sendfile'd body): a socket holds the bytes for the file's (MSG_MORE).
    mutating func write(_ vectors: IOVectors, beforeFile: Bool) throws -> IOResult<Int>
}

extension Transport {
    static var sendsFiles: Bool { false }
    mutating func closesAfter(bytes: Int) {}
    mutating func write(_ vectors: IOVectors, beforeFile: Bool) throws -> IOResult<Int> { try write(vectors) }
}

/// A connected TCP socket, as is.
struct SocketTransport: Transport {
    let fd: Int32

    @inline(__always)
    mutating func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> IOResult<Int> {
        try FileIO.read(fd, into: buffer, count: count)
    }

    @inline(__always)
    mutating func write(_ vectors: IOVectors) throws -> IOResult<Int> { try vectors.write(to: fd) }

    @inline(__always)
    mutating func write(_ vectors: IOVectors, beforeFile: Bool) throws -> IOResult<Int> { try vectors.write(to: fd, more: beforeFile) }

    @inline(__always)
    mutating func send(file: OpenFile, offset: Int, count: Int) throws -> IOResult<Int> {
        try FileIO.sendfile(socket: fd, file: file.fd, offset: offset, count: count)
    }

    mutating func shutdownOutput() { Socket.shutdownWrite(fd) }

    static var sendsFiles: Bool { true }
}
