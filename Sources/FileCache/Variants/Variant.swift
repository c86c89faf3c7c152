import CacheStore
import CapuchinServer
import CapuchinSystem
import Compression

/// One encoded representation of a file, ready to serve: its body (a mapping
/// or snapshot of the variant's file, or bytes compressed for a request and
/// not yet stored), its ETag and its prebuilt response head. Immutable.
final class Variant: @unchecked Sendable { // safe: lets only; MappedFile is read-only
    let coding: ContentCoding
    let body: FileBody
    let size: Int
    let etag: String
    let head: [UInt8]
    /// A precompressed sibling (its own file beside the source) or a stored variant.
    let isSibling: Bool
    /// The sibling's identity (checked again once a second), or the stored body file's.
    let fileIdentity: FileIdentity?
    let filePath: String?

    init(coding: ContentCoding, body: FileBody, size: Int, etag: String, head: [UInt8], isSibling: Bool,
         fileIdentity: FileIdentity?, filePath: String?) {
        self.coding = coding
        self.body = body
        self.size = size
        self.etag = etag
        self.head = head
        self.isSibling = isSibling
        self.fileIdentity = fileIdentity
        self.filePath = filePath
    }

    /// A strong ETag of its own per coding (RFC 9110 8.8.3: a different
    /// representation): the identity tag with the coding inside the quotes.
    static func etag(base: String, coding: ContentCoding) -> String {
        guard base.count >= 2, base.hasSuffix("\"") else { return "\"\(coding.token)\"" }
        return String(base.dropLast()) + "-" + coding.token + "\""
    }

    /// The head of a 200 of this variant: the identity head's lines with the
    /// variant's ETag, then `Content-Encoding` and `Vary`. Nil when a value
    /// holds CR, LF or NUL.
    static func head(contentType: String, etag: String, mtimeNanos: Int64, coding: ContentCoding?, mark: Bool) -> [UInt8]? {
        guard EntryHeaders.isSafe(contentType), EntryHeaders.isSafe(etag) else { return nil }
        return EntryHeaders.lines(contentType: contentType, etag: etag, mtimeNanos: mtimeNanos, xCache: mark,
                                  contentEncoding: coding?.token, varies: true)
    }
}
