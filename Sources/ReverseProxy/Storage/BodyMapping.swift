import CapuchinSystem
import Synchronization

/// A stored body's mapping, made on the first hit and shared by every copy of
/// its `CachedObject`: later hits write straight from it (no open, fstat, read
/// and close per hit). Body files are only ever replaced by a new object, so a
/// mapping never goes stale while its object is in the table.
public final class BodyMapping: @unchecked Sendable {
    private let mapping = Mutex<MappedFile?>(nil)

    public init() {}

    /// The mapping, made by `make` on first use; nil (and nothing kept) if it fails.
    func get(orMake make: () -> MappedFile?) -> MappedFile? {
        if let m = mapping.withLock({ $0 }) { return m }
        guard let m = make() else { return nil }
        return mapping.withLock { current in
            if let current { return current }
            current = m
            return m
        }
    }
}
