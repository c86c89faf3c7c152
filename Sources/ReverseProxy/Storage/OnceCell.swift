import Synchronization

/// A value made on first use (a stored object's decoded headers, its hit
/// head, its body copy), kept in its object's `ObjectMemo` and so shared by
/// every copy of the object: later uses take it as it is. A stored object's
/// body and headers are only ever replaced by a new object, so a kept value
/// never goes stale while its object is in the table.
/// One word published with a compare-and-swap, not a `Lock` (four heap blocks,
/// ~180 B, a cell): a million stored responses hold three cells each.
public struct OnceCell<Value>: ~Copyable, @unchecked Sendable { // safe: the value is boxed, published once by a release CAS and only read after
    private final class Box {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private let slot = Atomic<Unmanaged<Box>?>(nil)

    public init() {}

    /// A cell already holding `value` (a response stored now is decoded already).
    init(_ value: Value) { slot.store(Unmanaged.passRetained(Box(value)), ordering: .releasing) }

    deinit { slot.load(ordering: .acquiring)?.release() }

    /// The value, made by `make` on first use; nil (and nothing kept) if it
    /// fails. Two first uses at once may both make it: one value is kept and
    /// both callers get that one.
    func get(orMake make: () -> Value?) -> Value? {
        if let v = slot.load(ordering: .acquiring) { return v.takeUnretainedValue().value }
        guard let v = make() else { return nil }
        let made = Unmanaged.passRetained(Box(v))
        let (exchanged, current) = slot.compareExchange(expected: nil, desired: made, ordering: .acquiringAndReleasing)
        if exchanged { return v }
        made.release()
        return current!.takeUnretainedValue().value
    }

    /// The value when made, else nil.
    var value: Value? { slot.load(ordering: .acquiring)?.takeUnretainedValue().value }
}
