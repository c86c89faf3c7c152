/// `application/x-www-form-urlencoded` query parsing for the admin API.
struct QueryParameters {
    private(set) var values: [String: String] = [:]
    /// Every value of each parameter in `repeatable`, in order.
    private(set) var lists: [String: [String]] = [:]

    /// Parses `query` (without `?`). Throws `AdminError.badRequest` naming the
    /// parameter when an escape is malformed or a parameter not in `repeatable` repeats.
    init(_ query: String?, repeatable: Set<String> = []) throws {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0], what: "parameter name")
            let value = parts.count > 1 ? try Self.decode(parts[1], what: "parameter \(name)") : ""
            if values[name] != nil && !repeatable.contains(name) { throw AdminError.badRequest("parameter \(name) given more than once") }
            if values[name] == nil { values[name] = value }
            lists[name, default: []].append(value)
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// Every value given for `name` (a repeatable parameter), empty when absent.
    func all(_ name: String) -> [String] { lists[name] ?? [] }

    /// A flag: true for 1, false for 0 or when absent. Throws `AdminError.badRequest` otherwise.
    func flag(_ name: String) throws -> Bool {
        guard let raw = values[name] else { return false }
        guard raw == "1" || raw == "0" else { throw AdminError.badRequest("parameter \(name) must be 0 or 1, got \"\(raw)\"") }
        return raw == "1"
    }

    /// Throws unless every parameter is one of `allowed`.
    func requireOnly(_ allowed: Set<String>) throws {
        for name in values.keys.sorted() where !allowed.contains(name) {
            throw AdminError.badRequest("unknown parameter \(name); expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// An integer parameter within `range`, or `fallback` when absent.
    func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let raw = values[name] else { return fallback }
        guard let v = Int(raw), range.contains(v) else {
            throw AdminError.badRequest("parameter \(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(raw)\"")
        }
        return v
    }

    private static func decode(_ s: Substring, what: String) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        while let c = it.next() {
            switch c {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else {
                    throw AdminError.badRequest("malformed %-escape in \(what)")
                }
                out.append(h << 4 | l)
            default: out.append(c)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw AdminError.badRequest("\(what) is not valid UTF-8")
        }
        return text
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}

/// An admin request that cannot be served, with its status.
enum AdminError: Error, Equatable {
    case badRequest(String)
    case unauthorized
    case notFound
    case methodNotAllowed(allow: String)
    /// The backend could not do it (e.g. the cache index cannot be read).
    case unavailable(String)

    var status: Int {
        switch self {
        case .badRequest: return 400
        case .unauthorized: return 401
        case .notFound: return 404
        case .methodNotAllowed: return 405
        case .unavailable: return 503
        }
    }

    var message: String {
        switch self {
        case .badRequest(let m): return m
        case .unauthorized: return "missing or wrong bearer token"
        case .notFound: return "no such admin endpoint"
        case .methodNotAllowed(let allow): return "method not allowed; use \(allow)"
        case .unavailable(let m): return m
        }
    }
}
