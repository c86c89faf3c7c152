import Yams

/// One YAML mapping of the configuration, with typed getters. It records which
/// keys were read; `finish()` rejects the rest, so a misspelt key is an error
/// naming the file, line and key path. Plugins validate their own section with it.
public final class ConfigSection {
    public let file: String
    /// Dotted path of this mapping ("server", "sites[1]", "cache").
    public let path: String
    public let line: Int?
    private var entries: [(key: String, value: Node, line: Int?)]
    private var readKeys = Set<String>()
    /// Shared by the sections of one file: key lines, and errors when collecting.
    public let diagnostics: ConfigDiagnostics

    init(file: String, path: String, node: Node?, diagnostics: ConfigDiagnostics = ConfigDiagnostics()) throws {
        self.file = file
        self.path = path
        self.line = node?.mark?.line
        self.diagnostics = diagnostics
        entries = []
        guard let node else { return }
        guard let mapping = node.mapping else {
            throw ConfigError(file: file, line: node.mark?.line, key: path, message: "expected a mapping of keys to values")
        }
        for (k, v) in mapping {
            guard let name = k.scalar?.string else {
                throw ConfigError(file: file, line: k.mark?.line, key: path, message: "keys must be plain strings")
            }
            if entries.contains(where: { $0.key == name }) {
                throw ConfigError(file: file, line: k.mark?.line, key: qualified(name), message: "duplicate key")
            }
            entries.append((name, v, k.mark?.line ?? v.mark?.line))
        }
    }

    /// An empty section (the key was absent from the file).
    public static func empty(file: String, path: String, diagnostics: ConfigDiagnostics = ConfigDiagnostics()) -> ConfigSection {
        // A nil node never throws.
        try! ConfigSection(file: file, path: path, node: nil, diagnostics: diagnostics)
    }

    /// Keys present in the file, in order.
    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }

    public func contains(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// Sets `key` to a scalar, replacing any value from the file (command-line overrides).
    public func override(_ key: String, with value: String) {
        entries.removeAll { $0.key == key }
        entries.append((key, Node(value), nil))
    }

    /// An error about `key` of this section, at its line.
    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: entry(key)?.line ?? line, key: qualified(key), message: message)
    }

    /// Throws `ConfigError` for every key present but never read (the first one;
    /// every one when the diagnostics collect).
    public func finish() throws {
        for e in entries where !readKeys.contains(e.key) {
            try diagnostics.report(ConfigError(file: file, line: e.line, key: qualified(e.key), message: "unknown key"))
        }
    }

    /// Throws `error` or, when collecting every error (`capuchin check`), records it
    /// so the caller goes on with a default.
    public func report(_ error: ConfigError) throws { try diagnostics.report(error) }

    // MARK: typed getters; each throws `ConfigError` when the value has the wrong type or range.

    /// A string value; nil when absent.
    public func optionalString(_ key: String) throws -> String? {
        guard let e = take(key) else { return nil }
        guard let s = e.value.scalar?.string else { try report(error(key, "expected a string")); return nil }
        return s
    }

    public func string(_ key: String, default value: String) throws -> String {
        try optionalString(key) ?? value
    }

    /// A string that must be one of `allowed`.
    public func choice(_ key: String, _ allowed: [String], default value: String) throws -> String {
        let s = try string(key, default: value)
        if !allowed.contains(s) { try report(error(key, "expected one of \(allowed.joined(separator: ", ")), got '\(s)'")); return value }
        return s
    }

    public func optionalInt(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let e = take(key) else { return nil }
        guard let s = e.value.scalar?.string, let n = Int(s) else { try report(error(key, "expected an integer")); return nil }
        if let range, !range.contains(n) { try report(error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(n)")); return nil }
        return n
    }

    public func int(_ key: String, default value: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        try optionalInt(key, range: range) ?? value
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let e = take(key) else { return value }
        switch e.value.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: try report(error(key, "expected true or false")); return value
        }
    }

    /// A byte size: an integer, or a number with a k/m/g suffix (powers of 1024).
    public func size(_ key: String, default value: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let e = take(key) else { return value }
        guard let s = e.value.scalar?.string, let n = Self.parseSize(s) else {
            try report(error(key, "expected a size in bytes (e.g. 65536, 64k, 1m, 2g)"))
            return value
        }
        if let range, !range.contains(n) { try report(error(key, "must be between \(range.lowerBound) and \(range.upperBound) bytes, got \(n)")); return value }
        return n
    }

    /// A duration in seconds: a number (seconds) or a number with ms/s/m/h.
    public func duration(_ key: String, default value: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        guard let e = take(key) else { return value }
        guard let s = e.value.scalar?.string, let d = Self.parseDuration(s) else {
            try report(error(key, "expected a duration (e.g. 10, 10s, 500ms, 2m)"))
            return value
        }
        if let range, !range.contains(d) { try report(error(key, "must be between \(range.lowerBound)s and \(range.upperBound)s, got \(d)s")); return value }
        return d
    }

    /// A list of strings (a single string is a list of one).
    public func stringList(_ key: String, default value: [String]) throws -> [String] {
        guard let e = take(key) else { return value }
        if let s = e.value.scalar?.string { return [s] }
        guard let seq = e.value.sequence, seq.allSatisfy({ $0.scalar != nil }) else {
            try report(error(key, "expected a list of strings"))
            return value
        }
        return seq.compactMap { $0.scalar?.string }
    }

    /// A mapping of strings to strings, in file order.
    public func stringMap(_ key: String) throws -> [(String, String)] {
        guard let e = take(key) else { return [] }
        guard let m = e.value.mapping else { try report(error(key, "expected a mapping of strings to strings")); return [] }
        var pairs: [(String, String)] = []
        for (k, v) in m {
            guard let ks = k.scalar?.string, let vs = v.scalar?.string else {
                try report(ConfigError(file: file, line: k.mark?.line, key: qualified(key), message: "expected string keys and values"))
                continue
            }
            pairs.append((ks, vs))
        }
        return pairs
    }

    /// A nested mapping; an empty section when absent.
    public func section(_ key: String) throws -> ConfigSection {
        guard let e = take(key) else { return .empty(file: file, path: qualified(key), diagnostics: diagnostics) }
        if case .scalar(let s) = e.value, s.string.isEmpty || s.string == "~" || s.string == "null" {
            return .empty(file: file, path: qualified(key), diagnostics: diagnostics)
        }
        do {
            return try ConfigSection(file: file, path: qualified(key), node: e.value, diagnostics: diagnostics)
        } catch let failure as ConfigError {
            try report(failure)
            return .empty(file: file, path: qualified(key), diagnostics: diagnostics)
        }
    }

    /// A list of mappings.
    public func sectionList(_ key: String) throws -> [ConfigSection] {
        guard let e = take(key) else { return [] }
        guard let seq = e.value.sequence else { try report(error(key, "expected a list of mappings")); return [] }
        var list: [ConfigSection] = []
        for (i, item) in seq.enumerated() {
            do {
                list.append(try ConfigSection(file: file, path: "\(qualified(key))[\(i)]", node: item, diagnostics: diagnostics))
            } catch let failure as ConfigError {
                try report(failure)
            }
        }
        return list
    }

    // MARK: helpers

    private func entry(_ key: String) -> (key: String, value: Node, line: Int?)? {
        entries.first { $0.key == key }
    }

    private func take(_ key: String) -> (key: String, value: Node, line: Int?)? {
        readKeys.insert(key)
        guard let e = entry(key) else { return nil }
        diagnostics.noteLine(e.line, of: qualified(key))
        if case .scalar(let s) = e.value, s.style == .plain, s.string.isEmpty || s.string == "~" || s.string == "null" {
            return nil
        }
        return e
    }

    private func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    static func parseSize(_ text: String) -> Int? {
        let t = text.lowercased().trimmingSpaces()
        var digits = t
        var mult = 1
        for (suffix, m) in [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)] where t.hasSuffix(suffix) {
            digits = String(t.dropLast(suffix.count)).trimmingSpaces()
            mult = m
            break
        }
        guard let n = Int(digits), n >= 0 else { return nil }
        let (r, overflow) = n.multipliedReportingOverflow(by: mult)
        return overflow ? nil : r
    }

    static func parseDuration(_ text: String) -> Double? {
        let t = text.lowercased().trimmingSpaces()
        for (suffix, m) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where t.hasSuffix(suffix) {
            guard let n = Double(String(t.dropLast(suffix.count)).trimmingSpaces()), n >= 0, n.isFinite else { return nil }
            return n * m
        }
        guard let n = Double(t), n >= 0, n.isFinite else { return nil }
        return n
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
