/// A worker's buffer where the records one flush produces are gathered, to be
/// sent with one send(2) (as h2o encrypts into its own buffer and writes once):
/// a 16 KiB hit is two records (its head does not fit in the body's), and with
/// OpenSSL writing the socket itself that was two syscalls and two TCP
/// segments. Filled by a server session's write BIO between
/// `TLSSession.beginBatch` and `endBatch`; owned by one worker thread.
public final class TLSRecordBatch {
    /// Four full records (16 KiB of plaintext plus at most 256 bytes of header,
    /// tag and padding each): a flush of up to 64 KiB of plaintext is one send.
    public static let defaultCapacity = 4 * ((16 << 10) + 256)

    let base: UnsafeMutableRawPointer
    let capacity: Int
    var count = 0

    public init(capacity: Int = TLSRecordBatch.defaultCapacity) {
        precondition(capacity >= (16 << 10) + 256, "a batch holds at least one record")
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }
}
