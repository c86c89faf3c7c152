import Glibc

/// The lock: a value reached only under a pthread lock kept on the heap (a
/// pthread lock must not move, and Swift may move a stored property or pass it
/// through a temporary when it is handed over with `&`).
/// Exclusive by default (a mutex); with `sharedReads` a read-write lock whose
/// `withReadLock` callers run together. Uncontended, the mutex costs 12 ns a
/// lock/unlock pair here and the read-write lock's exclusive side 40 ns, so the
/// hot paths (a cache shard per hit) keep the mutex.
/// Not `Synchronization.Mutex`: on Linux that one is built on raw futex calls,
/// which the thread sanitizer cannot see, so every access it guards would be
/// reported as a race and the concurrency tests (run under TSan) would prove nothing.
public final class Lock<Value>: @unchecked Sendable { // safe: `storage` is only reached under the lock
    // @usableFromInline and @inlinable below: a hit takes a shard lock, and a
    // call across the module boundary could neither inline nor specialize it.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>?
    @usableFromInline let rwlock: UnsafeMutablePointer<pthread_rwlock_t>?
    @usableFromInline let storage: UnsafeMutablePointer<Value>
    /// The one block holding the mutex and the value of an `isolated` lock.
    private let block: UnsafeMutableRawPointer?

    /// `isolated`: the mutex and the value get cache lines of their own (one
    /// 128-byte aligned block), for a lock each worker takes on every request:
    /// two such locks allocated one after the other would otherwise share a
    /// line, and each worker's lock and unlock would take it from the other core.
    public init(_ value: Value, sharedReads: Bool = false, isolated: Bool = false) {
        if isolated && !sharedReads {
            let line = 128
            let offset = (MemoryLayout<pthread_mutex_t>.stride + MemoryLayout<Value>.alignment - 1)
                / MemoryLayout<Value>.alignment * MemoryLayout<Value>.alignment
            let size = (offset + MemoryLayout<Value>.stride + line - 1) / line * line
            let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: max(line, MemoryLayout<Value>.alignment))
            let m = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
            m.initialize(to: pthread_mutex_t())
            pthread_mutex_init(m, nil)
            mutex = m
            rwlock = nil
            storage = (raw + offset).bindMemory(to: Value.self, capacity: 1)
            storage.initialize(to: value)
            block = raw
            return
        }
        block = nil
        if sharedReads {
            let l = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
            l.initialize(to: pthread_rwlock_t())
            pthread_rwlock_init(l, nil)
            rwlock = l
            mutex = nil
        } else {
            let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            m.initialize(to: pthread_mutex_t())
            pthread_mutex_init(m, nil)
            mutex = m
            rwlock = nil
        }
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
    }

    deinit {
        if let block, let mutex {
            pthread_mutex_destroy(mutex)
            mutex.deinitialize(count: 1)
            storage.deinitialize(count: 1)
            block.deallocate()
            return
        }
        if let mutex {
            pthread_mutex_destroy(mutex)
            mutex.deinitialize(count: 1)
            mutex.deallocate()
        }
        if let rwlock {
            pthread_rwlock_destroy(rwlock)
            rwlock.deinitialize(count: 1)
            rwlock.deallocate()
        }
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Runs `body` with the value, exclusively.
    @inlinable @inline(__always)
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body(&storage.pointee)
    }

    /// Runs `body` with the value, beside other readers when the lock has
    /// `sharedReads` (exclusively otherwise); never beside `withLock`.
    @inlinable @inline(__always)
    public func withReadLock<R>(_ body: (Value) throws -> R) rethrows -> R {
        readLock()
        defer { unlock() }
        return try body(storage.pointee)
    }

    /// Takes the lock exclusively, for code that guards state outside the
    /// value (`Lock<Void>`) across several statements; pair with `unlock()`.
    @inlinable @inline(__always)
    public func lock() {
        if let mutex { pthread_mutex_lock(mutex) } else { pthread_rwlock_wrlock(rwlock!) }
    }

    /// Takes the lock shared with other readers (exclusively without
    /// `sharedReads`); pair with `unlock()`.
    @inlinable @inline(__always)
    public func readLock() {
        if let mutex { pthread_mutex_lock(mutex) } else { pthread_rwlock_rdlock(rwlock!) }
    }

    @inlinable @inline(__always)
    public func unlock() {
        if let mutex { pthread_mutex_unlock(mutex) } else { pthread_rwlock_unlock(rwlock!) }
    }
}

extension Lock where Value == Void {
    public convenience init(sharedReads: Bool = false) { self.init((), sharedReads: sharedReads) }
}
