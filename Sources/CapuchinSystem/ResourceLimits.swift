import Glibc

/// RLIMIT_NOFILE: how many descriptors the process may hold.
public enum ResourceLimits {
    /// Raises the soft descriptor limit to at least `wanted` (capped by the hard
    /// limit) and returns the resulting soft limit. Throws `SystemError` from get/setrlimit.
    @discardableResult
    public static func raiseOpenFiles(to wanted: Int) throws -> Int {
        var r = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) != 0 { throw SystemError(call: "getrlimit", errno: errno) }
        let target = min(rlim_t(wanted), r.rlim_max)
        if target > r.rlim_cur {
            r.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) != 0 { throw SystemError(call: "setrlimit", errno: errno) }
        }
        return Int(r.rlim_cur)
    }
}
