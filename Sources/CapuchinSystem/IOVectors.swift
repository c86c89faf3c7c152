import Glibc

/// A bounded list of memory ranges for one writev(2), in scratch memory that
/// lives only for a `with` call (no allocation per write). Callers outside this
/// module build it without touching `iovec`.
public struct IOVectors {
    private let storage: UnsafeMutablePointer<iovec>
    public let capacity: Int
    public private(set) var count = 0
    /// Sum of the ranges' lengths.
    public private(set) var totalBytes = 0

    private init(storage: UnsafeMutablePointer<iovec>, capacity: Int) {
        self.storage = storage
        self.capacity = capacity
    }

    /// Runs `body` with an empty list of up to `capacity` ranges on the stack.
    @inline(__always)
    public static func with<R>(capacity: Int, _ body: (inout IOVectors) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: capacity) { buf in
            var v = IOVectors(storage: buf.baseAddress!, capacity: capacity)
            return try body(&v)
        }
    }

    public var isFull: Bool { count >= capacity }

    /// Adds a range; the memory must stay valid until the write returns.
    @inline(__always)
    public mutating func append(_ base: UnsafeRawPointer, count n: Int) {
        precondition(count < capacity, "IOVectors full")
        storage[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: n)
        count += 1
        totalBytes += n
    }

    /// The range at `i` (for transports that copy instead of writev: TLS, tests).
    public subscript(i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage[i].iov_base, count: storage[i].iov_len)
    }

    /// writev(2) of the whole list to `fd`. Throws `SystemError` (EPIPE,
    /// ECONNRESET, EFAULT for a truncated mapping, ...).
    @inline(__always)
    public func write(to fd: Int32) throws -> IOResult<Int> {
        try FileIO.writev(fd, storage, count: count)
    }
}
