/// The UTF-8 bytes of `string` in place. A native string lends its storage
/// (no copy and no retain: a hit compares keys and paths this way on every
/// request, and `var s = s; s.withUTF8` cost a retain and release each); a
/// bridged one is copied once.
@inlinable
public func withUTF8Bytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    if let r = try string.utf8.withContiguousStorageIfAvailable(body) { return r }
    var copy = string
    return try copy.withUTF8(body)
}
