import CapuchinSystem
import FileCache

/// The bodies hits send. A small body (up to the file cache's snapshot limit)
/// is copied on its first hit into a slot of the store's slabs, as the file
/// cache's small files are (`SlabAllocator`: no mapping each, so the number of
/// hit responses is bounded by memory, not by `vm.max_map_count`), and kept by
/// its object. A large one is mapped and the mapping kept in `largeBodies`, at
/// most `mappingLimit` of them. Either way the bytes are only handed to the
/// kernel (writev): a body file truncated under a mapping gives EFAULT, not
/// SIGBUS, and a copy is made only of a file of the stored size.
extension ProxyBodyStore {
    /// Where small bodies are copied (shared by the stores of a process, as `VariantStore.slabs`).
    static let slabs = SlabAllocator(largest: FileCache.snapshotLimit)

    /// Large bodies' mappings kept at most, by default: a fraction of the
    /// 65,530 entries `vm.max_map_count` gives the whole process by default
    /// (the file cache takes what it leaves).
    public static let defaultMappingLimit = 4096

    /// Memory the copies of small bodies may take (the slabs' mapped pages):
    /// past it a small body is mapped as a large one is, so a cache of many
    /// small responses keeps its bodies in the page cache, not in the
    /// process's memory (a copy is kept as long as its response is cached).
    public static let defaultSmallBodyMemory = 256 << 20

    /// The body for sending (copied or mapped on the object's first hit); nil
    /// (and the entry dropped) when the file is gone or no longer has the stored size.
    public func mappedBody(_ object: CachedObject) -> MappedFile? {
        // A small body's copy (made while the copies are under their memory), else a kept mapping.
        let copied = object.entry.size > FileCache.snapshotLimit ? nil : object.body.get {
            Self.slabs.mappedBytes < smallBodyMemory ? Self.readBody(of: object.entry, copy: true) : nil
        }
        let m = copied ?? largeBodies.mapping(of: object.entry.bodyPath) { Self.readBody(of: object.entry, copy: false) }
        if m == nil { remove(key: object.entry.key) }
        return m
    }

    /// `entry`'s body file, copied into a slab slot when small and `copy`,
    /// else mapped; nil when it is missing, of another size, or cannot be read or mapped.
    static func readBody(of entry: ProxyIndexEntry, copy: Bool) -> MappedFile? {
        guard let file = try? OpenFile(path: entry.bodyPath), let id = try? file.identity(),
              Int64(id.size) == entry.size else { return nil }
        guard copy, id.size > 0, id.size <= FileCache.snapshotLimit else { return try? MappedFile(fd: file.descriptor, count: id.size) }
        // A file shorter than its size by now (cut meanwhile) throws: nothing served from it.
        return (try? MappedFile(copyOf: file.descriptor, count: id.size, into: slabs)) ?? nil
    }

    /// Removes a stored body's file and forgets its mapping.
    func unlinkBody(_ path: String) {
        largeBodies.drop(path)
        BodyFiles.unlinkIfPresent(path)
    }

    /// Large bodies' mappings held now (at most the store's `mappingLimit`).
    public var heldMappings: Int { largeBodies.count }
}
