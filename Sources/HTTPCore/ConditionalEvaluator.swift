/// What to send for a GET/HEAD (or other method) of a representation once
/// preconditions and Range are applied.
public enum RepresentationDecision: Sendable, Equatable {
    case full
    case notModified
    case preconditionFailed
    /// 206: validated, coalesced, non-empty; one range means a single-part body.
    case partial([ClosedRange<Int>])
    /// 416 with `Content-Range: bytes */length`.
    case unsatisfiable
}

/// The one evaluation of conditional requests and Range, shared by the static
/// handler and the cache (RFC 9110 13.2.2 order).
public enum ConditionalEvaluator {
    /// - Parameters:
    ///   - etag: the representation's entity-tag as sent (`"x"` or `W/"x"`), if any.
    ///   - lastModifiedSeconds: its modification time, seconds since 1970, if any.
    ///   - length: its size in bytes.
    /// Invalid conditional fields are ignored (RFC 9110 13.1.3/13.1.4; likewise
    /// for unparseable entity-tag lists). Range applies to GET only.
    public static func evaluate(method: String, headers: HTTPHeaders, etag: String?,
                                lastModifiedSeconds: Int?, length: Int) -> RepresentationDecision {
        // Most requests carry none of the fields: answer without looking for each.
        guard hasPreconditionOrRange(headers) else { return .full }
        return evaluate(method: method, presentIn: headers, etag: etag, lastModifiedSeconds: lastModifiedSeconds, length: length)
    }

    /// `evaluate` for a caller that found `hasPreconditionOrRange(headers)` true
    /// (the static handler checks first, inline): the fields are not scanned for
    /// that a second time (a browser's twelve fields, ~200 instructions).
    public static func evaluate(method: String, presentIn headers: HTTPHeaders, etag: String?,
                                lastModifiedSeconds: Int?, length: Int) -> RepresentationDecision {
        // The representation's tag is parsed only where a field compares tags
        // (`tagsMatch`, `ifRangeHolds`): a browser's If-Modified-Since alone
        // parsed it for nothing.
        let found = Fields(headers)
        let isGetOrHead = method == "GET" || method == "HEAD"
        // 1-2: If-Match, else If-Unmodified-Since.
        if let value = found.list(found.ifMatch, "If-Match", headers), let matched = tagsMatch(value, etag, strong: true) {
            if !matched { return .preconditionFailed }
        } else if let value = found.first(found.ifUnmodifiedSince), let date = HTTPDate.parse(value),
                  let modified = lastModifiedSeconds, modified > date {
            return .preconditionFailed
        }
        // 3-4: If-None-Match, else If-Modified-Since.
        if let value = found.list(found.ifNoneMatch, "If-None-Match", headers), let matched = tagsMatch(value, etag, strong: false) {
            if matched { return isGetOrHead ? .notModified : .preconditionFailed }
        } else if isGetOrHead, let value = found.first(found.ifModifiedSince), let date = HTTPDate.parse(value),
                  let modified = lastModifiedSeconds, modified <= date {
            return .notModified
        }
        // 5: Range, guarded by If-Range.
        guard method == "GET", let rangeValue = found.first(found.range) else { return .full }
        if let ifRange = found.first(found.ifRange), !ifRangeHolds(ifRange, etag, lastModifiedSeconds) { return .full }
        guard let specs = ByteRanges.parse(rangeValue) else { return .full }
        switch ByteRanges.resolve(specs, length: length) {
        case .ignore: return .full
        case .unsatisfiable: return .unsatisfiable
        case .ranges(let ranges): return .partial(ranges)
        }
    }

    /// Where the request's conditional fields are, found in one pass over its
    /// fields by length first (a lookup by name for each of the six was a pass
    /// over every field each, ~2,000 instructions a browser's request).
    private struct Fields {
        /// The index of a field's first line, and whether there are more.
        struct Place {
            var index = -1
            var several = false

            mutating func note(_ i: Int) {
                if index < 0 { index = i } else { several = true }
            }
        }

        let fields: [HTTPField]
        var ifMatch = Place(), ifNoneMatch = Place(), ifModifiedSince = Place(), ifUnmodifiedSince = Place()
        var range = Place(), ifRange = Place()

        init(_ headers: HTTPHeaders) {
            fields = headers.fields
            for i in fields.indices {
                switch fields[i].name.utf8.count {
                case 5:
                    if fields[i].name.caseInsensitiveEquals("Range") { range.note(i) }
                case 8:
                    if fields[i].name.caseInsensitiveEquals("If-Match") { ifMatch.note(i) }
                    else if fields[i].name.caseInsensitiveEquals("If-Range") { ifRange.note(i) }
                case 13:
                    if fields[i].name.caseInsensitiveEquals("If-None-Match") { ifNoneMatch.note(i) }
                case 17:
                    if fields[i].name.caseInsensitiveEquals("If-Modified-Since") { ifModifiedSince.note(i) }
                case 19:
                    if fields[i].name.caseInsensitiveEquals("If-Unmodified-Since") { ifUnmodifiedSince.note(i) }
                default:
                    continue
                }
            }
        }

        /// The first line's value (as `headers[name]`).
        func first(_ place: Place) -> String? { place.index < 0 ? nil : fields[place.index].value }

        /// All lines of a list field joined with commas (RFC 9110 5.3).
        func list(_ place: Place, _ name: String, _ headers: HTTPHeaders) -> String? {
            guard place.index >= 0 else { return nil }
            return place.several ? headers.values(name).joined(separator: ", ") : fields[place.index].value
        }
    }

    /// Whether `headers` hold an `If-*` field or `Range`: without one, every
    /// representation is answered in full (a scan with no allocation).
    @inline(__always)
    public static func hasPreconditionOrRange(_ headers: HTTPHeaders) -> Bool {
        for f in headers {
            var u = f.name.utf8.makeIterator()
            switch u.next().map({ $0 | 0x20 }) {
            case UInt8(ascii: "i"):
                // "If-*" without building a lowercased copy.
                if u.next().map({ $0 | 0x20 }) == UInt8(ascii: "f") && u.next() == UInt8(ascii: "-") { return true }
            case UInt8(ascii: "r"):
                if f.name.caseInsensitiveEquals("range") { return true }
            default:
                continue
            }
        }
        return false
    }

    /// Whether the tags of an If-Match (`strong`) or If-None-Match value match
    /// the representation's; nil: the value does not parse (the field is ignored).
    private static func tagsMatch(_ value: String, _ etag: String?, strong: Bool) -> Bool? {
        let current = etag.flatMap(EntityTag.init)
        // A browser revalidating sends back exactly the tag it was given: no
        // parse (which made a string of each tag in the list).
        if let etag, let current, value == etag { return strong ? !current.isWeak : true }
        guard let list = EntityTag.parseList(value) else { return nil }
        return matches(list, current, strong: strong)
    }

    private static func matches(_ list: EntityTag.List, _ current: EntityTag?, strong: Bool) -> Bool {
        switch list {
        case .any: return true
        case .tags(let tags):
            guard let current else { return false }
            return tags.contains { strong ? $0.strongMatch(current) : $0.weakMatch(current) }
        }
    }

    /// If-Range (RFC 9110 13.1.5): a strong entity-tag match, or an exact date match.
    private static func ifRangeHolds(_ value: String, _ etag: String?, _ modified: Int?) -> Bool {
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            guard let tag = EntityTag(value), let current = etag.flatMap(EntityTag.init) else { return false }
            return tag.strongMatch(current)
        }
        guard let date = HTTPDate.parse(value), let modified else { return false }
        return date == modified
    }
}
