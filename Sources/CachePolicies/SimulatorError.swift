/// Why a trace could not be replayed.
public enum SimulatorError: Error, Equatable, CustomStringConvertible {
    /// Line `line` (1-based) is not `KEY` or `KEY,SIZE`, or does not match the
    /// form of the first line.
    case malformedLine(line: Int, reason: String)
    /// read(2) failed with `errno`.
    case readFailed(errno: Int32)
    case invalidCapacity(Int)

    public var description: String {
        switch self {
        case .malformedLine(let line, let reason): return "trace line \(line): \(reason)"
        case .readFailed(let e): return "cannot read the trace (errno \(e))"
        case .invalidCapacity(let c): return "capacity must be at least 1, got \(c)"
        }
    }
}
