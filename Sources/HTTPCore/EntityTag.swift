/// An entity-tag (RFC 9110 8.8.3): `"opaque"` or `W/"opaque"`.
public struct EntityTag: Sendable, Equatable {
    public var isWeak: Bool
    /// The characters between the quotes.
    public var opaque: String

    public init(opaque: String, isWeak: Bool = false) {
        self.opaque = opaque
        self.isWeak = isWeak
    }

    /// Parses one entity-tag; nil if `text` is not exactly one.
    public init?(_ text: String) {
        guard let list = EntityTag.parseList(text), case .tags(let tags) = list, tags.count == 1 else { return nil }
        self = tags[0]
    }

    /// The field-value form: `"x"` or `W/"x"`.
    public var text: String { (isWeak ? "W/\"" : "\"") + opaque + "\"" }

    /// Strong comparison (RFC 9110 8.8.3.2): both strong and identical.
    public func strongMatch(_ other: EntityTag) -> Bool { !isWeak && !other.isWeak && opaque == other.opaque }

    /// Weak comparison: identical opaque tags, weakness ignored.
    public func weakMatch(_ other: EntityTag) -> Bool { opaque == other.opaque }

    /// An If-Match / If-None-Match value.
    public enum List: Sendable, Equatable {
        case any
        case tags([EntityTag])
    }

    /// Parses `*` or a comma-separated list of entity-tags (empty members
    /// allowed, as in RFC 9110 5.6.1). Nil for anything else, which callers ignore.
    public static func parseList(_ text: String) -> List? {
        var text = text
        return text.withUTF8 { parseList(bytes: UnsafeRawBufferPointer($0)) }
    }

    static func parseList(bytes b: UnsafeRawBufferPointer) -> List? {
        var i = 0
        let n = b.count
        func skipOWS() { while i < n, b[i] == 32 || b[i] == 9 { i += 1 } }
        skipOWS()
        if i < n, b[i] == UInt8(ascii: "*") {
            i += 1
            skipOWS()
            return i == n ? .any : nil
        }
        var tags: [EntityTag] = []
        while true {
            skipOWS()
            if i == n { break }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            var weak = false
            if b[i] == UInt8(ascii: "W"), i + 1 < n, b[i + 1] == UInt8(ascii: "/") { weak = true; i += 2 }
            guard i < n, b[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            // etagc = %x21 / %x23-7E / obs-text
            while i < n, b[i] == 0x21 || (b[i] >= 0x23 && b[i] != 0x7f) { i += 1 }
            guard i < n, b[i] == UInt8(ascii: "\"") else { return nil }
            tags.append(EntityTag(opaque: b.string(start..<i), isWeak: weak))
            i += 1
            skipOWS()
            guard i == n || b[i] == UInt8(ascii: ",") else { return nil }
        }
        return tags.isEmpty ? nil : .tags(tags)
    }
}
