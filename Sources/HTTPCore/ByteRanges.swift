/// The Range header (RFC 9110 14.2) for the `bytes` unit.
///
/// Policy (as nginx): a Range header that is invalid, uses another unit, has
/// more than `maxRanges` ranges, or whose satisfiable ranges add up to more
/// than the representation (overlap amplification such as `0-,0-`) is ignored
/// and the full representation is sent. Overlapping or adjacent ranges are
/// coalesced (then sorted); otherwise the requested order is kept.
public enum ByteRanges {
    public static let maxRanges = 16

    public enum Spec: Sendable, Equatable {
        case fromTo(Int, Int)   // first-pos "-" last-pos
        case from(Int)          // first-pos "-"
        case suffix(Int)        // "-" suffix-length
    }

    public enum Resolution: Sendable, Equatable {
        case ignore
        case unsatisfiable
        case ranges([ClosedRange<Int>])
    }

    /// The range-specs of a `bytes=` value; nil if it is not one or has more than `maxRanges`.
    public static func parse(_ value: String) -> [Spec]? {
        var value = value
        return value.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    static func parse(bytes b: UnsafeRawBufferPointer) -> [Spec]? {
        let n = b.count
        guard n > 6, b.equalsLowercase(0..<6, "bytes=") else { return nil }
        var i = 6
        var specs: [Spec] = []
        func number() -> Int? {
            let start = i
            var v = 0
            while i < n, ByteClass.isDigit(b[i]) {
                v = v > (Int.max - 9) / 10 ? Int.max : v * 10 + Int(b[i] &- 48)  // saturates
                i += 1
            }
            return i > start ? v : nil
        }
        while true {
            while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
            if i == n { break }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "-") {
                i += 1
                guard let suffix = number() else { return nil }
                specs.append(.suffix(suffix))
            } else {
                guard let first = number(), i < n, b[i] == UInt8(ascii: "-") else { return nil }
                i += 1
                if let last = number() {
                    guard last >= first else { return nil }
                    specs.append(.fromTo(first, last))
                } else {
                    specs.append(.from(first))
                }
            }
            if specs.count > maxRanges { return nil }
            while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
            guard i == n || b[i] == UInt8(ascii: ",") else { return nil }
        }
        return specs.isEmpty ? nil : specs
    }

    /// Resolves `specs` against a representation of `length` bytes.
    public static func resolve(_ specs: [Spec], length: Int) -> Resolution {
        var ranges: [ClosedRange<Int>] = []
        var total = 0
        for spec in specs {
            let r: ClosedRange<Int>
            switch spec {
            case .fromTo(let a, let b):
                guard a < length else { continue }
                r = a...min(b, length - 1)
            case .from(let a):
                guard a < length else { continue }
                r = a...(length - 1)
            case .suffix(let s):
                guard s > 0, length > 0 else { continue }
                r = max(0, length - s)...(length - 1)
            }
            // Their sum may not pass the length (checked without overflow).
            if r.count > length - total { return .ignore }
            total += r.count
            ranges.append(r)
        }
        if ranges.isEmpty { return .unsatisfiable }
        return .ranges(coalesce(ranges))
    }

    /// Merges overlapping or adjacent ranges; unchanged if none touch.
    static func coalesce(_ ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        guard ranges.count > 1 else { return ranges }
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<Int>] = [sorted[0]]
        for r in sorted.dropFirst() {
            let last = merged[merged.count - 1]
            if r.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged.count == ranges.count ? ranges : merged
    }

    /// `bytes first-last/length`, the Content-Range of one part.
    public static func contentRange(_ range: ClosedRange<Int>, length: Int) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound)/\(length)"
    }

    /// `bytes */length`, the Content-Range of a 416.
    public static func unsatisfiedContentRange(length: Int) -> String { "bytes */\(length)" }
}
