/// An ordered list of header fields; lookups are case-insensitive.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    public mutating func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    /// Replaces every field with this name by one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name, value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    /// The first value of `name`, if present.
    public subscript(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

extension String {
    /// ASCII case-insensitive comparison (header names are ASCII tokens).
    @inlinable
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        // Lengths first (O(1) for native strings): most header names differ in it.
        guard self.utf8.count == other.utf8.count else { return false }
        var a = self.utf8.makeIterator()
        var b = other.utf8.makeIterator()
        while true {
            let x = a.next(), y = b.next()
            if x == nil || y == nil { return x == nil && y == nil }
            var cx = x!, cy = y!
            if cx >= 65 && cx <= 90 { cx |= 0x20 }
            if cy >= 65 && cy <= 90 { cy |= 0x20 }
            if cx != cy { return false }
        }
    }
}
