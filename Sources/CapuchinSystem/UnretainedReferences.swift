/// Objects kept alive by this value and reached without retaining them.
///
/// An object taken out of an array (or a `var`) is retained and released
/// around every use the optimizer cannot see through: a call into another
/// module or through a protocol. Each pair is two atomic operations, about
/// 29 ns on this machine (`Tools/bench/README.md`), and a cache hit made
/// dozens of them. A `let` of an object already guaranteed to the caller is
/// borrowed instead: `with` hands `body` each element that way.
public struct UnretainedReferences<Element: AnyObject> {
    /// Keeps the elements alive as long as this value.
    private let owned: [Element]
    private let references: [Unmanaged<Element>]

    public init(_ elements: [Element]) {
        owned = elements
        references = elements.map { Unmanaged.passUnretained($0) }
    }

    public var count: Int { references.count }
    public var isEmpty: Bool { references.isEmpty }

    /// Calls `body` with element `i`, not retained (it lives as long as `self`).
    @inline(__always)
    public func with<R>(_ i: Int, _ body: (Element) throws -> R) rethrows -> R {
        try references[i]._withUnsafeGuaranteedRef(body)
    }

    /// The elements, retained (for code off the hot path).
    public var elements: [Element] { owned }
}

/// Immutable after `init`: as sendable as its elements.
extension UnretainedReferences: @unchecked Sendable where Element: Sendable {}
