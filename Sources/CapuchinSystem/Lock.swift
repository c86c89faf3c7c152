import Glibc

/// The lock: a value reached only under a pthread read-write lock kept on the
/// heap (a pthread lock must not move, and Swift may move a stored property or
/// pass it through a temporary when it is handed over with `&`).
/// Not `Synchronization.Mutex`: on Linux that one is built on raw futex calls,
/// which the thread sanitizer cannot see, so every access it guards would be
/// reported as a race and the concurrency tests (run under TSan) would prove
/// nothing. Uncontended, `withLock` costs about what a mutex does (one atomic
/// exchange each way).
public final class Lock<Value>: @unchecked Sendable { // safe: `storage` is only reached under `rwlock`
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    private let storage: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        rwlock = .allocate(capacity: 1)
        rwlock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(rwlock, nil)
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deinitialize(count: 1)
        rwlock.deallocate()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Runs `body` with the value, exclusively.
    @inline(__always)
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return try body(&storage.pointee)
    }

    /// Runs `body` with the value, shared with other readers (never with `withLock`).
    @inline(__always)
    public func withReadLock<R>(_ body: (Value) throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return try body(storage.pointee)
    }

    /// Takes the lock exclusively, for code that guards state outside the
    /// value (`Lock<Void>`) across several statements; pair with `unlock()`.
    @inline(__always)
    public func lock() { pthread_rwlock_wrlock(rwlock) }

    /// Takes the lock shared with other readers; pair with `unlock()`.
    @inline(__always)
    public func readLock() { pthread_rwlock_rdlock(rwlock) }

    @inline(__always)
    public func unlock() { pthread_rwlock_unlock(rwlock) }
}

extension Lock where Value == Void {
    public convenience init() { self.init(()) }
}
