import CapuchinSystem

/// A value made on first use and shared by every copy of the struct holding
/// it (a stored object's body mapping, its prebuilt hit head): later hits use
/// it as it is. A stored object's body and headers are only ever replaced by a
/// new object, so a kept value never goes stale while its object is in the table.
public final class OnceCell<Value>: @unchecked Sendable { // safe: the value is made once under the mutex and only read after (a mapping, head bytes)
    private let value = Lock<Value?>(nil)

    public init() {}

    /// The value, made by `make` on first use; nil (and nothing kept) if it fails.
    func get(orMake make: () -> Value?) -> Value? {
        if let v = value.withLock({ $0 }) { return v }
        guard let v = make() else { return nil }
        return value.withLock { current in
            if let current { return current }
            current = v
            return v
        }
    }
}
