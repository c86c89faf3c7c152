import CSystemShims
import Glibc

/// Runs a system call, retrying on EINTR. Returns `.wouldBlock` for
/// EAGAIN/EWOULDBLOCK; throws `SystemError` (named `name`) for any other errno.
@inline(__always)
func retryingSyscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws -> IOResult<T> {
    while true {
        let r = body()
        if r >= 0 { return .processed(r) }
        let e = cap_errno()
        if e == EINTR { continue }
        if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(call: name(), errno: e)
    }
}

/// Like `retryingSyscall` for calls on blocking descriptors, where EAGAIN is an error too.
/// Throws `SystemError` for any errno but EINTR.
@inline(__always)
func blockingSyscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = cap_errno()
        if e == EINTR { continue }
        throw SystemError(call: name(), errno: e)
    }
}
