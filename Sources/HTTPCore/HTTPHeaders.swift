/// One header field line, as sent (the name keeps its case).
/// A struct, not a tuple: an array of tuples was destroyed element by element
/// through the runtime's generic tuple witness (~100 instructions a field).
public struct HTTPField: Sendable, Equatable {
    public var name: String
    public var value: String

    @inlinable
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An ordered list of header fields; lookups are case-insensitive.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [HTTPField] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { HTTPField(name: $0.0, value: $0.1) } }

    public mutating func add(_ name: String, _ value: String) { fields.append(HTTPField(name: name, value: value)) }

    public mutating func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    /// Removes every field; `keepingCapacity`: the array keeps its storage (to be reused).
    /// (Keeping the capacity through removeLast: Array's removeAll(keepingCapacity:)
    /// goes through a generic replaceSubrange, ~120 instructions a call.)
    public mutating func removeAll(keepingCapacity: Bool) {
        if keepingCapacity {
            if !fields.isEmpty { fields.removeLast(fields.count) }
        } else {
            fields.removeAll()
        }
    }

    /// Replaces every field with this name by one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append(HTTPField(name: name, value: value))
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

    public func makeIterator() -> IndexingIterator<[HTTPField]> { fields.makeIterator() }
}

extension String {
    /// ASCII case-insensitive comparison (header names are ASCII tokens).
    /// Over the strings' bytes in place: the UTF-8 view's iterators cost
    /// about 15 instructions a byte, and a request asks this of each field.
    @inlinable
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        // Lengths first (O(1) for native strings): most header names differ in it.
        guard self.utf8.count == other.utf8.count else { return false }
        // Spelled alike first (the usual case: clients send the names as
        // written here), eight bytes at a time; then letter by letter.
        let inPlace = self.utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in
                a.isEmpty || ByteClass.bytesEqual(UnsafeRawPointer(a.baseAddress!), UnsafeRawPointer(b.baseAddress!), count: a.count)
                    || String.asciiCaseInsensitiveEquals(a, b)
            }
        }
        if let result = inPlace ?? nil { return result }
        return String.asciiCaseInsensitiveEquals(Array(self.utf8), Array(other.utf8))
    }

    @inlinable
    static func asciiCaseInsensitiveEquals<A: RandomAccessCollection<UInt8>, B: RandomAccessCollection<UInt8>>(_ a: A, _ b: B) -> Bool
        where A.Index == Int, B.Index == Int {
        guard a.count == b.count else { return false }
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex {
            var x = a[i], y = b[j]
            if x != y {
                // Only letters may differ, and only by the case bit.
                x |= 0x20
                y |= 0x20
                if x != y || x < 97 || x > 122 { return false }
            }
            i += 1
            j += 1
        }
        return true
    }
}
