/// A route: requests whose path matches `pattern` go to `pool`.
public struct ProxyRoute: @unchecked Sendable { // safe: all lets; Regex is immutable but not declared Sendable for every output type
    /// The pattern as written in the config.
    public let pattern: String
    /// Compiled once at load. (Regex is immutable; @unchecked because the
    /// standard library does not declare it Sendable for every output type.)
    public let regex: Regex<AnyRegexOutput>
    public let pool: String
    /// For `^literal` patterns (no other metacharacter): the literal, matched
    /// with hasPrefix; Swift's Regex cost 5% of a proxied hit.
    let literalPrefix: String?

    /// Compiles `pattern`. Throws `ProxyConfigError` under `key` when it is not
    /// a valid regular expression.
    public init(pattern: String, pool: String, key: String) throws {
        do {
            self.regex = try Regex(pattern)
        } catch {
            throw ProxyConfigError(key: key, message: "invalid regular expression \"\(pattern)\": \(error)")
        }
        self.pattern = pattern
        self.pool = pool
        let meta = Set("\\.^$|?*+()[]{}")
        if pattern.hasPrefix("^"), !pattern.dropFirst().contains(where: { meta.contains($0) }) {
            literalPrefix = String(pattern.dropFirst())
        } else {
            literalPrefix = nil
        }
    }

    /// Whether the route takes `path` (unanchored search, as nginx and Varnish do;
    /// anchor with ^ to match a prefix).
    public func matches(_ path: String) -> Bool {
        if let literalPrefix { return path.hasPrefix(literalPrefix) }
        return (try? regex.firstMatch(in: path)) != nil
    }
}
