/// The outcome of a non-blocking call: it did something, or it would have
/// blocked (EAGAIN/EWOULDBLOCK), which is not an error.
public enum IOResult<T> {
    case processed(T)
    case wouldBlock
}

extension IOResult: Equatable where T: Equatable {}
