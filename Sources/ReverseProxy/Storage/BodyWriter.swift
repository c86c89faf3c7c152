import CapuchinSystem

/// Writes one body to a temporary file; `ProxyBodyStore.commit` makes it
/// visible (rename, then index). Not thread-safe: one writer per fetch.
/// Abandoned writers remove their file on deinit; after a crash the start-up
/// recovery does.
public final class BodyWriter {
    let tempPath: String
    private(set) var limit: Int
    private var fd: FileDescriptor?
    public private(set) var bytesWritten: Int = 0

    init(tempPath: String, limit: Int) throws {
        self.tempPath = tempPath
        self.limit = limit
        self.fd = try BodyFiles.createExclusive(tempPath)
    }

    /// Appends body bytes. Throws `ProxyStoreError.tooLarge` past the maximum
    /// object size (the writer is then aborted), or `.io` when the write fails.
    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// See `append(_: [UInt8])`.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let fd else { throw ProxyStoreError.writerClosed }
        guard bytesWritten + bytes.count <= limit else {
            abort()
            throw ProxyStoreError.tooLarge(limit: limit)
        }
        try BodyFiles.writeAll(fd, bytes, path: tempPath)
        bytesWritten += bytes.count
    }

    /// Closes the file (fsynced first when `sync`). Throws `ProxyStoreError`.
    func finish(sync: Bool) throws {
        guard let fd else { throw ProxyStoreError.writerClosed }
        defer { fd.close(); self.fd = nil }
        if sync { try BodyFiles.sync(fd, path: tempPath) }
    }

    /// Keeps writing past the limit, for readers only (a spool: `CacheFill`).
    func liftLimit() { limit = .max }

    /// Unlinks the file while writing goes on: the readers' descriptors keep
    /// it (a spool), and no crash leaves it behind.
    func unlinkFile() { BodyFiles.unlinkIfPresent(tempPath) }

    /// Discards the body.
    public func abort() {
        if let fd {
            fd.close()
            self.fd = nil
        }
        BodyFiles.unlinkIfPresent(tempPath)
    }

    deinit {
        if fd != nil { abort() }
    }
}
