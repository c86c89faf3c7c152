/// What the admin plugin reads and acts on. The server's main wires it to the
/// file cache, the workers' counters and the store, so the admin plugin needs
/// none of their types.
public protocol AdminBackend: AnyObject, Sendable {
    func serverFigures() -> ServerFigures
    /// nil when the cache plugin is disabled.
    func cacheFigures() -> CacheFigures?
    /// nil when there is no store.
    func storeFigures() -> StoreFigures?
    /// Entries sorted by `sort` (descending for hits, size, recent; oldest first
    /// for age; ascending for key), starting after `cursor` entries.
    func entries(prefix: String?, sort: EntrySort, limit: Int, offset: Int) -> (rows: [EntryRow], total: Int)
    /// Each returns the number of entries removed.
    func purge(key: String) -> Int
    func purge(prefix: String) -> Int
    func clear() -> Int
    /// Removes the proxy's stored responses carrying any of `tags`, or with
    /// `soft` marks them stale (revalidated on next use, served if the origin
    /// fails); returns how many. Throws when the cache index cannot be read.
    func purge(tags: [String], soft: Bool) throws -> Int
    /// Soft purges by key and prefix (the proxy cache only: the file cache
    /// revalidates against its files on every use already).
    func softPurge(key: String) -> Int
    func softPurge(prefix: String) -> Int
    /// The reverse proxy's backends; empty without a proxy.
    func backendFigures() -> [BackendFigures]
    /// nil when the compression plugin is off.
    func compressionFigures() -> CompressionFigures?
}

extension AdminBackend {
    public func backendFigures() -> [BackendFigures] { [] }
    public func compressionFigures() -> CompressionFigures? { nil }
    public func purge(tags: [String], soft: Bool) throws -> Int { 0 }
    public func softPurge(key: String) -> Int { 0 }
    public func softPurge(prefix: String) -> Int { 0 }
}
