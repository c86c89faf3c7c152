import CapuchinServer
import CapuchinSystem
import HTTPCore

/// The variant last served for a file version and an `Accept-Encoding`
/// choice, in a small direct-mapped table per worker: a hot stylesheet is
/// asked for with the same value over and over, and finding its variant
/// again takes the variant table's shard lock and the set's lock (both shared
/// with the other workers) and copies of the set's state.
///
/// A slot is keyed by the file's identity (device, inode, size, mtime), its
/// content type (the variant's head carries it) and the choice. It is
/// trusted for `lifetimeNanos` only: a precompressed sibling is looked for
/// again that often, and a newer one must win as it would without the table.
/// Only small variants are kept (`maxSize`), so the slots pin little.
final class RecentVariants: Sendable {
    private struct Slot {
        var identity: FileIdentity?
        var contentType = ""
        var choice: UInt64 = 0
        var at: UInt64 = 0
        var variant: Variant?
        /// The file's metadata as the variant's representation (built once:
        /// a variant hit then allocates nothing). Its origin path is that of
        /// the file it was made for, which nothing reads after negotiation.
        var metadata: FileMetadata?
    }

    static let maxSize = 64 << 10
    /// Per worker, reached without a retain (see UnretainedReferences).
    private let tables: UnretainedReferences<Lock<[Slot]>>
    private let mask: Int
    let lifetimeNanos: UInt64

    init(workers: Int = 64, slots: Int = 64, lifetimeNanos: UInt64 = 1_000_000_000) {
        var n = 1
        while n < slots { n <<= 1 }
        mask = n - 1
        self.lifetimeNanos = lifetimeNanos
        tables = UnretainedReferences((0..<max(0, workers)).map { _ in Lock([], isolated: true) })
    }

    /// `choice` as one number (indices below 15, at most 15 of them; nil otherwise).
    static func key(_ choice: AcceptEncoding.Choice) -> UInt64? {
        guard choice.order.count < 16 else { return nil }
        var k: UInt64 = choice.identityAcceptable ? 1 : 0
        for i in choice.order {
            guard i >= 0, i < 15 else { return nil }
            k = k << 4 | UInt64(i + 1)
        }
        return k
    }

    /// `file` as the variant remembered for it and `choice` (its metadata and
    /// body), if still trusted at `now`, and that variant.
    func represented(_ file: SourcedFile, choice: UInt64, worker: Int, now: UInt64) -> (file: SourcedFile, variant: Variant)? {
        guard worker >= 0, worker < tables.count else { return nil }
        let i = Self.index(file.identity, mask)
        return tables.with(worker) { $0.withLock { slots -> (file: SourcedFile, variant: Variant)? in
            guard !slots.isEmpty, slots[i].identity == file.identity, slots[i].choice == choice,
                  now &- slots[i].at < lifetimeNanos, slots[i].contentType == file.contentType,
                  let variant = slots[i].variant, let metadata = slots[i].metadata else { return nil }
            return (SourcedFile(metadata: metadata, body: variant.body), variant)
        } }
    }

    /// Remembers `variant` as what `file` gets for `choice` (found at `now`);
    /// returns `file` as that variant's representation.
    @discardableResult
    func remember(_ variant: Variant, for file: SourcedFile, choice: UInt64, worker: Int, now: UInt64) -> SourcedFile {
        let metadata = Self.metadata(of: variant, for: file)
        guard variant.size <= Self.maxSize, worker >= 0, worker < tables.count else { return SourcedFile(metadata: metadata, body: variant.body) }
        let i = Self.index(file.identity, mask)
        tables.with(worker) { $0.withLock { slots in
            if slots.isEmpty { slots = [Slot](repeating: Slot(), count: mask + 1) }
            slots[i] = Slot(identity: file.identity, contentType: file.contentType, choice: choice, at: now, variant: variant,
                            metadata: metadata)
        } }
        return SourcedFile(metadata: metadata, body: variant.body)
    }

    /// `file`'s metadata as `variant`'s representation.
    static func metadata(of variant: Variant, for file: SourcedFile) -> FileMetadata {
        file.metadata.encoded(as: variant.coding.token, size: variant.size, etag: variant.etag, head: variant.head)
    }

    @inline(__always)
    private static func index(_ id: FileIdentity, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (id.inode &* 0x9E37_79B9_7F4A_7C15) >> 40 ^ id.device) & mask
    }
}
