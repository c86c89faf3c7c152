/// Little-endian encoding of a policy's global state, with a header naming the
/// policy and its capacity so that state from another configuration is refused.
struct StateWriter {
    private(set) var bytes: [UInt8] = []

    init(policy: String, capacity: Int) {
        bytes.append(contentsOf: Array("CAPPOL1".utf8))
        put(UInt64(policy.utf8.count))
        bytes.append(contentsOf: Array(policy.utf8))
        put(UInt64(capacity))
    }

    mutating func put(_ v: UInt64) {
        var x = v
        for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: x)); x >>= 8 }
    }

    mutating func put(_ v: Int) { put(UInt64(bitPattern: Int64(v))) }

    mutating func put(_ v: Double) { put(v.bitPattern) }

    mutating func put(_ values: [UInt64]) {
        put(UInt64(values.count))
        for v in values { put(v) }
    }

    /// A length-prefixed blob (another policy's global state).
    mutating func put(bytes: [UInt8]) {
        put(UInt64(bytes.count))
        self.bytes.append(contentsOf: bytes)
    }
}

/// Reads what `StateWriter` wrote; every read fails (nil) past the end.
struct StateReader {
    private let bytes: [UInt8]
    private var at = 0

    /// Nil when the header does not name this policy and capacity.
    init?(_ bytes: [UInt8], policy: String, capacity: Int) {
        self.bytes = bytes
        let magic = Array("CAPPOL1".utf8)
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { return nil }
        at = magic.count
        guard let n = uint64(), n == UInt64(policy.utf8.count), at + Int(n) <= bytes.count,
              Array(bytes[at..<at + Int(n)]) == Array(policy.utf8) else { return nil }
        at += Int(n)
        guard let cap = int(), cap == capacity else { return nil }
    }

    var isAtEnd: Bool { at == bytes.count }

    mutating func uint64() -> UInt64? {
        guard at + 8 <= bytes.count else { return nil }
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[at + i]) }
        at += 8
        return v
    }

    mutating func int() -> Int? { uint64().map { Int(Int64(bitPattern: $0)) } }

    /// The next value as `int()` reads it, without consuming it.
    func peekInt() -> Int? {
        var copy = self
        return copy.int()
    }

    mutating func double() -> Double? { uint64().map { Double(bitPattern: $0) } }

    /// A blob written by `put(bytes:)`.
    mutating func blob() -> [UInt8]? {
        guard let n = uint64(), n <= UInt64(bytes.count - at) else { return nil }
        defer { at += Int(n) }
        return Array(bytes[at..<at + Int(n)])
    }

    /// An array of at most `limit` values (a damaged count must not allocate wildly).
    mutating func uint64s(limit: Int) -> [UInt64]? {
        guard let n = uint64(), n <= UInt64(limit), at + Int(n) * 8 <= bytes.count else { return nil }
        var out: [UInt64] = []
        out.reserveCapacity(Int(n))
        for _ in 0..<Int(n) { out.append(uint64()!) }
        return out
    }
}
