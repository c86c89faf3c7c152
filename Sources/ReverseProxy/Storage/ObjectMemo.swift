import CapuchinSystem
import HTTPCore

/// What a stored response gains after it is stored, shared by the copies of
/// its `CachedObject` (the table's, a lookup's, a soft-purged copy): one heap
/// block a response instead of one per cell (a load of a million made four
/// million, ~140 B a response).
final class ObjectMemo: Sendable {
    /// Its status, headers and times, decoded from the index's bytes on first use.
    let response: OnceCell<StoredResponse>
    /// The head its hits send, built on the first hit.
    let hitHead = OnceCell<HitHead>()
    /// A small body's copy in the store's slabs once hit; a large body's
    /// mapping is kept by the store (`BodyMappings`).
    let body = OnceCell<MappedFile>()
    /// Hits not yet written to the index (`ProxyBodyStore+Popularity`).
    let hits = HitTally()

    /// Its decoded response when known (stored now), else decoded at first use.
    init(response: StoredResponse?) {
        if let response { self.response = OnceCell(response) } else { self.response = OnceCell() }
    }
}
