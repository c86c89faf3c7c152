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
        // Most requests carry none of the fields: answer without parsing the tag.
        guard hasPreconditionOrRange(headers) else { return .full }
        let current = etag.flatMap(EntityTag.init)
        let isGetOrHead = method == "GET" || method == "HEAD"
        // 1-2: If-Match, else If-Unmodified-Since.
        if let value = combined(headers, "If-Match"), let list = EntityTag.parseList(value) {
            if !matches(list, current, strong: true) { return .preconditionFailed }
        } else if let value = headers["If-Unmodified-Since"], let date = HTTPDate.parse(value),
                  let modified = lastModifiedSeconds, modified > date {
            return .preconditionFailed
        }
        // 3-4: If-None-Match, else If-Modified-Since.
        if let value = combined(headers, "If-None-Match"), let list = EntityTag.parseList(value) {
            if matches(list, current, strong: false) { return isGetOrHead ? .notModified : .preconditionFailed }
        } else if isGetOrHead, let value = headers["If-Modified-Since"], let date = HTTPDate.parse(value),
                  let modified = lastModifiedSeconds, modified <= date {
            return .notModified
        }
        // 5: Range, guarded by If-Range.
        guard method == "GET", let rangeValue = headers["Range"] else { return .full }
        if let ifRange = headers["If-Range"], !ifRangeHolds(ifRange, current, lastModifiedSeconds) { return .full }
        guard let specs = ByteRanges.parse(rangeValue) else { return .full }
        switch ByteRanges.resolve(specs, length: length) {
        case .ignore: return .full
        case .unsatisfiable: return .unsatisfiable
        case .ranges(let ranges): return .partial(ranges)
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

    /// All lines of a list field joined with commas (RFC 9110 5.3).
    private static func combined(_ headers: HTTPHeaders, _ name: String) -> String? {
        let values = headers.values(name)
        if values.isEmpty { return nil }
        return values.count == 1 ? values[0] : values.joined(separator: ", ")
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
    private static func ifRangeHolds(_ value: String, _ current: EntityTag?, _ modified: Int?) -> Bool {
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            guard let tag = EntityTag(value), let current else { return false }
            return tag.strongMatch(current)
        }
        guard let date = HTTPDate.parse(value), let modified else { return false }
        return date == modified
    }
}
