import Glibc

/// Process signal set-up: SIGPIPE ignored, termination and reload signals
/// blocked in every thread and taken synchronously by one thread with sigwait.
public enum Signals {
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGUSR1]

    /// Ignores SIGPIPE (writes to a closed socket return EPIPE instead) and blocks
    /// `handled` in the calling thread; call before starting any thread so they inherit the mask.
    public static func prepareProcess() {
        signal(SIGPIPE, SIG_IGN)
        var set = makeSet(handled)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks until one of `handled` arrives; returns its number.
    public static func wait() -> Int32 {
        var set = makeSet(handled)
        var sig: Int32 = 0
        while sigwait(&set, &sig) != 0 {}
        return sig
    }

    /// Sends `signal` to this process (used to wake the signal thread on an internal stop).
    public static func raiseInProcess(_ signal: Int32) {
        kill(getpid(), signal)
    }

    private static func makeSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        return set
    }
}
