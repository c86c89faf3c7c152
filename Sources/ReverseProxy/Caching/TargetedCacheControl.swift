import CapuchinSystem
import HTTPCore

/// Targeted cache control (RFC 9213): response fields such as
/// `CDN-Cache-Control` whose directives apply to one class of caches. The
/// first field of the target list with a valid, non-empty value decides this
/// cache's policy, and `Cache-Control` and `Expires` are then ignored for it
/// (still sent downstream, for the caches after us).
///
/// A targeted field is a Structured Field Dictionary (RFC 8941): a value that
/// does not parse, or a directive of the wrong type (`max-age="60"`), makes
/// the whole field invalid, and the next one in the list (or `Cache-Control`)
/// is used instead, as RFC 9213 section 2.1 says.
public enum TargetedCacheControl {
    /// The target list, most specific first: our own field, then the CDN
    /// one. Set once from the proxy cache's configuration before serving.
    public static var targets: [String] { settings.withLock { $0.targets } }
    /// The field addressed to this cache alone: removed from responses sent
    /// downstream (no later cache is its target). `CDN-Cache-Control` is
    /// forwarded: a CDN in front of us may be its target too.
    public static var ownField: String? { settings.withLock { $0.own } }

    private struct Settings {
        var own: String? = "Capuchin-Cache-Control"
        var cdn = true
        var targets: [String] { (own.map { [$0] } ?? []) + (cdn ? ["CDN-Cache-Control"] : []) }
    }
    private static let settings = Lock(Settings())

    /// `own`: our field's name (nil: none); `cdn`: whether CDN-Cache-Control applies to us.
    public static func configure(own: String?, cdn: Bool) {
        settings.withLock { $0 = Settings(own: own, cdn: cdn) }
    }

    /// The directives of the first valid targeted field in `headers`; nil when none.
    public static func directives(in headers: HTTPHeaders) -> CacheControl? {
        for name in targets {
            let values = headers.values(name)
            guard !values.isEmpty else { continue }
            if let cc = parse(values.joined(separator: ", ")) { return cc }
        }
        return nil
    }

    /// Directives whose value must be an Integer (RFC 9213 section 2.1).
    private static let integerDirectives: Set<String> = ["max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"]

    /// Parses one field as a Dictionary; nil when it is invalid or empty.
    static func parse(_ value: String) -> CacheControl? {
        var cc = CacheControl()
        var p = StructuredFieldScanner(value)
        var seen = Set<String>()
        p.skipSpaces()
        if p.atEnd { return nil }
        while true {
            guard let key = p.key() else { return nil }
            var item: StructuredFieldScanner.Item = .boolean(true)
            if p.consume(UInt8(ascii: "=")) {
                guard let v = p.bareItem() else { return nil }
                item = v
            }
            guard p.skipParameters() else { return nil }
            if seen.insert(key).inserted {
                guard apply(key, item, to: &cc) else { return nil }
            }
            p.skipOWS()
            if p.atEnd { break }
            guard p.consume(UInt8(ascii: ",")) else { return nil }
            p.skipOWS()
            if p.atEnd { return nil }   // a trailing comma is invalid
        }
        cc.isTargeted = true
        return cc
    }

    /// Sets the directive; false when its value has the wrong type.
    private static func apply(_ key: String, _ item: StructuredFieldScanner.Item, to cc: inout CacheControl) -> Bool {
        if integerDirectives.contains(key) {
            guard case .integer(let n) = item, n >= 0 else { return false }
            let seconds = min(n, 2_147_483_648)
            switch key {
            case "max-age": cc.maxAge = seconds
            case "s-maxage": cc.sMaxAge = seconds
            case "stale-while-revalidate": cc.staleWhileRevalidate = seconds
            default: cc.staleIfError = seconds
            }
            return true
        }
        switch (key, item) {
        case ("no-store", .boolean(let b)): cc.noStore = b
        case ("no-cache", .boolean(let b)): cc.noCache = b
        case ("no-cache", .string(let s)): cc.noCacheFields = CacheControl.fieldNames(Substring(s))
        case ("private", .boolean(let b)): cc.isPrivate = b
        case ("private", .string(let s)): cc.privateFields = CacheControl.fieldNames(Substring(s))
        case ("public", .boolean(let b)): cc.isPublic = b
        case ("must-revalidate", .boolean(let b)): cc.mustRevalidate = b
        case ("proxy-revalidate", .boolean(let b)): cc.proxyRevalidate = b
        case ("must-understand", .boolean(let b)): cc.mustUnderstand = b
        case ("no-store", _), ("no-cache", _), ("private", _), ("public", _), ("must-revalidate", _), ("proxy-revalidate", _),
             ("must-understand", _):
            return false
        default: break   // extensions are ignored, whatever their type
        }
        return true
    }
}
