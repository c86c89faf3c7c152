/// Typed reads from one mapping of the parsed config (what Yams yields:
/// `[String: Any]`, `[Any]`, String, Int, Double, Bool), with errors that name
/// the key. Unknown keys are refused so a typo never passes silently.
/// (Stand-in until the server's typed config-section API is merged.)
struct ConfigSection {
    let path: String
    let values: [String: Any]

    init(path: String, values: [String: Any], allowedKeys: Set<String>) throws {
        self.path = path
        self.values = values
        for key in values.keys.sorted() where !allowedKeys.contains(key) {
            throw ProxyConfigError(key: Self.join(path, key), message: "unknown key (allowed: \(allowedKeys.sorted().joined(separator: ", ")))")
        }
    }

    /// A YAML mapping as `[String: Any]` (Yams may give `[AnyHashable: Any]`).
    static func mapping(_ v: Any) -> [String: Any]? {
        if let m = v as? [String: Any] { return m }
        guard let m = v as? [AnyHashable: Any] else { return nil }
        var out: [String: Any] = [:]
        for (k, value) in m {
            guard let s = k.base as? String else { return nil }
            out[s] = value
        }
        return out
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func keyPath(_ key: String) -> String { Self.join(path, key) }

    func error(_ key: String, _ message: String) -> ProxyConfigError {
        ProxyConfigError(key: keyPath(key), message: message)
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    func string(_ key: String) throws -> String? {
        guard let v = values[key] else { return nil }
        if let s = v as? String { return s }
        throw error(key, "expected a string")
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = values[key] else { return nil }
        if let b = v as? Bool { return b }
        if let s = v as? String {
            switch s.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        throw error(key, "expected true or false")
    }

    func int(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let v = values[key] else { return nil }
        let n: Int
        if let i = v as? Int { n = i } else if let s = v as? String, let i = Int(s) { n = i } else {
            throw error(key, "expected an integer")
        }
        guard range.contains(n) else { throw error(key, "\(n) is outside \(range.lowerBound)...\(range.upperBound)") }
        return n
    }

    /// A duration: a number of seconds, or a string with unit ms, s, m, h, d ("500ms", "30s").
    func durationNanos(_ key: String) throws -> UInt64? {
        guard let v = values[key] else { return nil }
        let bad = error(key, "expected a duration such as 30, \"500ms\", \"30s\", \"5m\", \"1h\"")
        if let i = v as? Int {
            guard i >= 0 else { throw bad }
            return UInt64(i) * 1_000_000_000
        }
        if let d = v as? Double {
            guard d >= 0, d < 1e9 else { throw bad }
            return UInt64(d * 1e9)
        }
        guard let s = v as? String else { throw bad }
        let units: [(String, Double)] = [("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            let number = s.dropLast(suffix.count)
            // "ms" also ends in "s": only accept a pure number before the suffix.
            if let d = Double(number), d >= 0, d * scale < 1e18 { return UInt64(d * scale) }
        }
        if let d = Double(s), d >= 0, d < 1e9 { return UInt64(d * 1e9) }
        throw bad
    }

    /// A size in bytes: an integer, or a string with unit k, m, g (powers of 1024).
    func bytes(_ key: String) throws -> Int? {
        guard let v = values[key] else { return nil }
        let bad = error(key, "expected a size such as 1048576, \"512k\", \"10m\", \"1g\"")
        if let i = v as? Int { guard i >= 0 else { throw bad }; return i }
        guard let s = v as? String, let last = s.lowercased().last else { throw bad }
        let scale: Int
        switch last {
        case "k": scale = 1 << 10
        case "m": scale = 1 << 20
        case "g": scale = 1 << 30
        default:
            guard let i = Int(s), i >= 0 else { throw bad }
            return i
        }
        guard let n = Int(s.dropLast()), n >= 0, n <= Int.max / scale else { throw bad }
        return n * scale
    }

    func stringList(_ key: String) throws -> [String]? {
        guard let v = values[key] else { return nil }
        if let s = v as? String { return [s] }
        guard let list = v as? [Any] else { throw error(key, "expected a list of strings") }
        return try list.enumerated().map { i, item in
            guard let s = item as? String else { throw error("\(key)[\(i)]", "expected a string") }
            return s
        }
    }

    func section(_ key: String, allowedKeys: Set<String>) throws -> ConfigSection? {
        guard let v = values[key] else { return nil }
        guard let map = Self.mapping(v) else { throw error(key, "expected a mapping") }
        return try ConfigSection(path: keyPath(key), values: map, allowedKeys: allowedKeys)
    }
}
