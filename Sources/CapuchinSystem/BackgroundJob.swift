/// One piece of work on a thread of its own that others can wait for: a cache
/// index that loads while the server already serves. (Whether callers may use
/// what it builds is theirs to track: they mark that before `start`.)
public final class BackgroundJob: Sendable {
    private let thread = Lock<SystemThread?>(nil)

    public init() {}

    /// Runs `body` on a new thread named `name`. Throws `SystemError` when the
    /// thread cannot be started (then nothing runs).
    public func start(name: String, _ body: @escaping @Sendable () -> Void) throws {
        let t = try SystemThread(name: name, body)
        thread.withLock { $0 = t }
    }

    /// Waits until `body` returned (at once when it was never started).
    public func wait() {
        let t = thread.withLock { t -> SystemThread? in
            defer { t = nil }
            return t
        }
        t?.join()
    }
}
