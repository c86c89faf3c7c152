import CSystemShims
import Glibc

/// The thread: a joinable pthread running a closure. Every thread the server
/// starts is one (workers, acceptor, log writer, store writer, loaders).
/// Threads are started from library code (a closure defined in main.swift
/// would trip the main-actor check).
public final class SystemThread: @unchecked Sendable { // safe: `handle` is written once in init, `joined` only by the one caller of join
    private var handle = pthread_t()
    private var joined = false
    public let name: String

    private final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }

    /// Starts `body` on a new thread named `name` (its first 15 bytes are the
    /// kernel's name of the thread: `top -H`, `/proc/PID/task/TID/comm`).
    /// Throws `SystemError` from pthread_create (EAGAIN).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws {
        self.name = name
        let box = Unmanaged.passRetained(Box { cap_set_thread_name(name); body() }).toOpaque()
        let r = pthread_create(&handle, nil, { arg in
            let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            b.body()
            return nil
        }, box)
        if r != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError(call: "pthread_create", errno: r)
        }
    }

    /// Waits for the thread to return. Call it once, from one thread.
    public func join() {
        pthread_join(handle, nil)
        joined = true
    }

    /// A thread nobody joined is detached: its resources go when it returns
    /// (the store's writer drops its own handle on the way out).
    deinit {
        if !joined { pthread_detach(handle) }
    }

    /// Lowers the calling thread's scheduling priority by `increment` nice
    /// steps (at most to 19; Linux nice is per thread): background work that
    /// must not take a core from the serving threads. Throws `SystemError`.
    public static func lowerCurrentPriority(by increment: Int32) throws {
        let target = min(19, try currentPriority() + increment)
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(cap_gettid()), target) != 0 {
            throw SystemError(call: "setpriority", errno: errno)
        }
    }

    /// The calling thread's nice value. Throws `SystemError` from getpriority.
    public static func currentPriority() throws -> Int32 {
        errno = 0  // -1 is also a valid nice value: only errno tells a failure
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(cap_gettid()))
        if current == -1 && errno != 0 { throw SystemError(call: "getpriority", errno: errno) }
        return current
    }

    /// Number of online processors (at least 1).
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
