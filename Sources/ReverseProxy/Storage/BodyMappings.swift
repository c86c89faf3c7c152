import CapuchinSystem

/// The mappings of the large bodies hits send, at most `capacity` of them
/// (each is one entry of the kernel's map table, which `vm.max_map_count`
/// bounds for the whole process: one kept per hit response ran out past
/// ~65,000 responses, and a failed mmap refetched the response). Replacement
/// is CLOCK (second chance, as an LRU without moving anything on a hit): a hit
/// sets its slot's bit, a new mapping takes the first slot whose bit is clear.
/// A mapping dropped here is unmapped when the last response sending it ends
/// (ARC), never under a writev. Keyed by body path: a stored body's path is
/// unique (a random suffix) and its file never rewritten. Thread-safe.
final class BodyMappings: Sendable {
    private struct Slot {
        var path = ""
        var mapping: MappedFile?
        var referenced = false
    }

    private struct State {
        var slots: [Slot] = []
        var byPath: [String: Int] = [:]
        /// Slots emptied by `drop`, taken before the clock turns.
        var free: [Int] = []
        var hand = 0
    }

    let capacity: Int
    private let state = Lock(State())

    init(capacity: Int) {
        precondition(capacity > 0, "at least one mapping")
        self.capacity = capacity
    }

    /// The mapping of `path`, made by `make` (outside the lock) when not held;
    /// nil when `make` fails (nothing kept).
    func mapping(of path: String, orMake make: () -> MappedFile?) -> MappedFile? {
        let held = state.withLock { st -> MappedFile? in
            guard let i = st.byPath[path] else { return nil }
            st.slots[i].referenced = true
            return st.slots[i].mapping
        }
        if let held { return held }
        guard let made = make() else { return nil }
        // The replaced mapping is released after the lock (its deinit may unmap).
        var replaced: MappedFile?
        let kept = state.withLock { st -> MappedFile in
            // Another hit mapped it meanwhile: keep one.
            if let i = st.byPath[path], let m = st.slots[i].mapping { return m }
            let i = Self.victim(in: &st, capacity: capacity)
            if !st.slots[i].path.isEmpty { st.byPath.removeValue(forKey: st.slots[i].path) }
            replaced = st.slots[i].mapping
            st.slots[i] = Slot(path: path, mapping: made, referenced: false)
            st.byPath[path] = i
            return made
        }
        _ = replaced
        return kept
    }

    /// A slot for a new mapping: a free one, a new one under the capacity, or
    /// the clock's first unreferenced one (clearing the bits it passes).
    private static func victim(in st: inout State, capacity: Int) -> Int {
        if let i = st.free.popLast() { return i }
        if st.slots.count < capacity {
            st.slots.append(Slot())
            return st.slots.count - 1
        }
        while true {
            let i = st.hand
            st.hand = (i + 1) % st.slots.count
            if !st.slots[i].referenced { return i }
            st.slots[i].referenced = false
        }
    }

    /// Forgets `path`'s mapping (its body is being removed): its disk space is
    /// freed once the responses still sending it end.
    func drop(_ path: String) {
        let gone = state.withLock { st -> MappedFile? in
            guard let i = st.byPath.removeValue(forKey: path) else { return nil }
            let m = st.slots[i].mapping
            st.slots[i] = Slot()
            st.free.append(i)
            return m
        }
        _ = gone
    }

    /// Mappings held now (at most `capacity`).
    var count: Int { state.withLock { $0.byPath.count } }
}
