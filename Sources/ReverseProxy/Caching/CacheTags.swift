import HTTPCore

/// Where a response's cache tags come from (purge by tag) and whether those
/// fields reach clients. `Surrogate-Key` (Fastly, Varnish xkey) separates tags
/// with spaces; `Cache-Tag` (Cloudflare) and any other configured field with
/// commas. The fields are meant for this cache: by default they are removed
/// from what clients get (stored responses included), as Fastly and Cloudflare do.
public struct CacheTags: Sendable, Equatable {
    public static let defaultFields = ["Surrogate-Key", "Cache-Tag"]
    /// Fields whose tags are separated by whitespace (the rest: by commas).
    static let spaceSeparated: Set<String> = ["surrogate-key", "xkey"]
    /// A longer tag is ignored (Fastly's limit for one surrogate key).
    public static let maxTagBytes = 1024
    /// Tags kept per response, the first ones (a bound on index work per entry).
    public static let maxTagsPerResponse = 256

    /// The field names, as configured.
    public let fields: [String]
    /// Lowercased names, for matching.
    let lowercasedFields: Set<String>
    /// Whether the fields are removed from client responses.
    public let strips: Bool

    public init(fields: [String] = defaultFields, strips: Bool = true) {
        self.fields = fields
        self.strips = strips
        lowercasedFields = Set(fields.map(FieldSyntax.lowercased))
    }

    /// The tags of a response with `headers`: each once, in order of appearance.
    public func tags(in headers: HTTPHeaders) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for field in headers {
            let name = FieldSyntax.lowercased(field.name)
            guard lowercasedFields.contains(name) else { continue }
            let parts = Self.spaceSeparated.contains(name)
                ? field.value.split(whereSeparator: { $0 == " " || $0 == "\t" })
                : field.value.split(separator: ",")
            for part in parts {
                let tag = part.trimmingSpaces
                guard !tag.isEmpty, tag.utf8.count <= Self.maxTagBytes, out.count < Self.maxTagsPerResponse else { continue }
                if seen.insert(tag).inserted { out.append(tag) }
            }
        }
        return out
    }

    /// Whether `lowercasedName` is a tag field that clients must not get.
    func isStripped(_ lowercasedName: String) -> Bool { strips && lowercasedFields.contains(lowercasedName) }

    /// Removes the tag fields from a client response's `headers` (when configured to).
    public func strip(_ headers: inout HTTPHeaders) {
        guard strips else { return }
        for name in fields { headers.remove(name) }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
