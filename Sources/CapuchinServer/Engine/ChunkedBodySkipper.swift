/// Reads past a chunked request body (RFC 9112 section 7.1) without keeping it,
/// so the next pipelined request can be parsed. Counts data bytes against a limit.
struct ChunkedBodySkipper {
    enum Failure: Error { case malformed, tooLarge }
    private enum State { case size, sizeExtension, sizeLF, data, dataCR, dataLF, trailerLineStart, trailerLine, trailerLF, finalLF }

    private var state = State.size
    private var chunkLeft = 0
    private var sizeDigits = 0
    private(set) var total = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Consumes from `bytes`; returns how many were consumed and whether the body
    /// ended. Throws `Failure` on bad framing or a body over the limit.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws -> (consumed: Int, finished: Bool) {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            switch state {
            case .size:
                if let v = Self.hex(b) {
                    sizeDigits += 1
                    if sizeDigits > 15 { throw Failure.malformed }
                    chunkLeft = chunkLeft * 16 + v
                } else if sizeDigits > 0 && (b == UInt8(ascii: ";") || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")) {
                    state = .sizeExtension
                } else if sizeDigits > 0 && b == 13 {
                    state = .sizeLF
                } else { throw Failure.malformed }
                i += 1
            case .sizeExtension:
                if b == 13 { state = .sizeLF } else if b == 10 || b == 0 { throw Failure.malformed }
                i += 1
            case .sizeLF:
                guard b == 10 else { throw Failure.malformed }
                i += 1
                total += chunkLeft
                if total > limit { throw Failure.tooLarge }
                state = chunkLeft == 0 ? .trailerLineStart : .data
            case .data:
                let take = min(chunkLeft, n - i)
                i += take
                chunkLeft -= take
                if chunkLeft == 0 { state = .dataCR }
            case .dataCR:
                guard b == 13 else { throw Failure.malformed }
                state = .dataLF; i += 1
            case .dataLF:
                guard b == 10 else { throw Failure.malformed }
                state = .size; sizeDigits = 0; i += 1
            case .trailerLineStart:
                i += 1
                if b == 13 { state = .finalLF } else if b == 10 { throw Failure.malformed } else { state = .trailerLine }
            case .trailerLine:
                i += 1
                if b == 13 { state = .trailerLF } else if b == 10 { throw Failure.malformed }
            case .trailerLF:
                guard b == 10 else { throw Failure.malformed }
                i += 1; state = .trailerLineStart
            case .finalLF:
                guard b == 10 else { throw Failure.malformed }
                return (i + 1, true)
            }
        }
        return (i, false)
    }

    @inline(__always)
    private static func hex(_ b: UInt8) -> Int? {
        switch b {
        case 48...57: return Int(b - 48)
        case 65...70: return Int(b - 55)
        case 97...102: return Int(b - 87)
        default: return nil
        }
    }
}
