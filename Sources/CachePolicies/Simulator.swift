import CapuchinSystem

/// Replays request traces through a policy, as `capuchin simulate` and
/// Tools/hitratio do, to measure hit ratios.
public enum Simulator {
    /// Counts from one replay.
    public struct Result: Sendable, Equatable {
        public var requests = 0
        public var hits = 0
        public var requestBytes = 0
        public var hitBytes = 0
        /// Whether the trace carried sizes (capacity was bytes).
        public var sized = false
    }

    /// Replays the trace read from file descriptor `input` (see `TraceReader`
    /// for the format) through a new `policy` of `capacity` units and writes
    /// `HITS HIT_BYTES` as the last line to `output`.
    /// Throws `SimulatorError.invalidCapacity` for capacity < 1,
    /// `.malformedLine` naming the first bad line, `.readFailed` on I/O errors.
    @discardableResult
    public static func run(policy: PolicyKind, capacity: Int, input: Int32,
                           output: inout some TextOutputStream) throws -> Result {
        guard capacity >= 1 else { throw SimulatorError.invalidCapacity(capacity) }
        let result = try replay(makePolicy(policy, capacity: capacity), input: input)
        output.write("\(result.hits) \(result.hitBytes)\n")
        return result
    }

    /// Replays the trace on `input` through `policy`.
    /// Throws as `run` does.
    public static func replay(_ policy: any EvictionPolicy, input: Int32) throws -> Result {
        var result = Result()
        var reader = TraceReader(fd: FileDescriptor(rawValue: input))
        try reader.forEachRequest { key, size in
            result.requests += 1
            result.requestBytes += size
            if policy.contains(key) {
                result.hits += 1
                result.hitBytes += size
                policy.recordHit(key)
            } else {
                _ = policy.recordMiss(key, size: size)
            }
        }
        result.sized = reader.sized ?? false
        return result
    }
}
