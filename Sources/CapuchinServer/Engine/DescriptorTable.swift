/// Something the event loop registered with epoll under a token.
protocol DescriptorOwner: AnyObject {
    var token: UInt64 { get }
}

/// The event loop's objects indexed by descriptor. A token is
/// `tag | serial << 32 | fd`: the serial tells a reused descriptor number from
/// the connection that had it before, so a stale epoll event or a late
/// service request finds nothing instead of the wrong connection.
///
/// Lifetime rule (`keepsRemoved`): an element removed from the table stays
/// alive until `releaseRemoved()`, which the event loop calls between
/// iterations. So within one iteration an element can be reached unretained
/// (`reference(for:)`): a close in the middle of a call on it cannot free it.
/// A retain and release of the socket and its connection for every event and
/// service cost about 29 ns a pair (see `UnretainedReferences`).
struct DescriptorTable<Element: DescriptorOwner> {
    private var slots: [Element?] = []
    /// The same elements, for reaching them without a retain.
    private var references: [Unmanaged<Element>?] = []
    private var serial: UInt64 = 0
    /// High bits that tell this table's tokens from other kinds.
    let tag: UInt64
    private(set) var count = 0
    private let keepsRemoved: Bool
    /// Removed this iteration (when `keepsRemoved`), freed by `releaseRemoved()`.
    private var removed: [Element] = []

    init(tag: UInt64, keepsRemoved: Bool = false) {
        self.tag = tag
        self.keepsRemoved = keepsRemoved
    }

    /// A fresh token for `fd` (store it in the element, then `insert`).
    mutating func nextToken(for fd: Int32) -> UInt64 {
        serial &+= 1
        return tag | (serial & 0x1fff_ffff) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// The last serial handed out (connection ids use it).
    var lastSerial: UInt64 { serial }

    mutating func insert(_ e: Element) {
        let slot = Int(e.token & 0xffff_ffff)
        if slot >= slots.count {
            slots.append(contentsOf: repeatElement(nil, count: slot - slots.count + 64))
            references.append(contentsOf: repeatElement(nil, count: slots.count - references.count))
        }
        slots[slot] = e
        references[slot] = Unmanaged.passUnretained(e)
        count += 1
    }

    /// The element registered under exactly `token`, if still there.
    @inline(__always)
    func element(for token: UInt64) -> Element? {
        let slot = Int(token & 0xffff_ffff)
        guard slot < slots.count, let e = slots[slot], e.token == token else { return nil }
        return e
    }

    /// The element registered under exactly `token`, not retained: valid until
    /// `releaseRemoved()` also if it is removed meanwhile (`keepsRemoved` only).
    @inline(__always)
    func reference(for token: UInt64) -> Unmanaged<Element>? {
        let slot = Int(token & 0xffff_ffff)
        guard slot < references.count, let r = references[slot], r._withUnsafeGuaranteedRef({ $0.token == token }) else {
            return nil
        }
        return r
    }

    /// Frees the elements removed since the last call (see the lifetime rule).
    mutating func releaseRemoved() {
        if !removed.isEmpty { removed.removeAll(keepingCapacity: true) }
    }

    /// Removes `e`; false when it was not (or no longer) in the table.
    mutating func remove(_ e: Element) -> Bool {
        let slot = Int(e.token & 0xffff_ffff)
        guard slot < slots.count, slots[slot] === e else { return false }
        if keepsRemoved { removed.append(e) }
        slots[slot] = nil
        references[slot] = nil
        count -= 1
        return true
    }

    func contains(_ e: Element) -> Bool {
        let slot = Int(e.token & 0xffff_ffff)
        return slot < slots.count && slots[slot] === e
    }

    /// Every element (a copy: callers may remove while walking it).
    var all: [Element] { slots.compactMap { $0 } }
}
