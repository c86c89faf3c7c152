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

    /// Starts `body` on a new thread (`name` is for diagnostics).
    /// Throws `SystemError` from pthread_create (EAGAIN).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws {
        self.name = name
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
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

    /// Number of online processors (at least 1).
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
