import CSystemShims
import Glibc

/// A bounded list of memory ranges for one writev(2), in scratch memory that
/// lives only for a `with` call (no allocation per write). Callers outside this
/// module build it without touching `iovec`.
public struct IOVectors {
    // Inlinable: a response batch's writev goes through here, and an
    // unspecialised generic call across the module boundary cost a little on
    // every write.
    @usableFromInline let storage: UnsafeMutablePointer<iovec>
    public let capacity: Int
    @usableFromInline var _count = 0
    @usableFromInline var _totalBytes = 0

    @usableFromInline
    init(storage: UnsafeMutablePointer<iovec>, capacity: Int) {
        self.storage = storage
        self.capacity = capacity
    }

    @inlinable public var count: Int { _count }
    /// Sum of the ranges' lengths.
    @inlinable public var totalBytes: Int { _totalBytes }

    /// Runs `body` with an empty list of up to `capacity` ranges on the stack.
    @inlinable
    public static func with<R>(capacity: Int, _ body: (inout IOVectors) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: capacity) { buf in
            var v = IOVectors(storage: buf.baseAddress!, capacity: capacity)
            return try body(&v)
        }
    }

    @inlinable public var isFull: Bool { _count >= capacity }

    /// Adds a range; the memory must stay valid until the write returns.
    @inlinable
    public mutating func append(_ base: UnsafeRawPointer, count n: Int) {
        precondition(_count < capacity, "IOVectors full")
        storage[_count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: n)
        _count += 1
        _totalBytes += n
    }

    /// The range at `i` (for transports that copy instead of writev: TLS, tests).
    public subscript(i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage[i].iov_base, count: storage[i].iov_len)
    }

    /// writev(2) of the whole list to `fd`. Throws `SystemError` (EPIPE,
    /// ECONNRESET, EFAULT for a truncated mapping, ...).
    @inlinable
    public func write(to fd: Int32) throws -> IOResult<Int> {
        try FileIO.writev(fd, storage, count: _count)
    }

    /// `write(to:)` on a socket, telling the kernel more follows at once
    /// (MSG_MORE: a head before its sendfile'd body). Throws `SystemError`.
    @inlinable
    public func write(to fd: Int32, more: Bool) throws -> IOResult<Int> {
        more ? try FileIO.writevMore(fd, storage, count: _count) : try FileIO.writev(fd, storage, count: _count)
    }
}
