/// Content-coding negotiation from `Accept-Encoding` (RFC 9110 section 12.5.3):
/// q-values (`q=0` refuses), `*` for any coding not named, `identity;q=0`,
/// and the server's own preference among codings the client weighs equally.
/// Pure: the caller says which codings it offers, in its order of preference.
public enum AcceptEncoding {
    /// What a request accepts of the offered codings.
    public struct Choice: Sendable, Equatable {
        /// Indices into `offered`, best first: higher q first, then the server's order.
        public var order: [Int]
        /// Whether a response without a content coding is acceptable.
        public var identityAcceptable: Bool

        public init(order: [Int], identityAcceptable: Bool) {
            self.order = order
            self.identityAcceptable = identityAcceptable
        }

        /// No Accept-Encoding: identity (RFC 9110 allows any coding, but a
        /// client that says nothing may not decode; every server sends identity).
        /// Made at each use (an empty array costs nothing): a stored global was a
        /// `swift_once` call on every request without Accept-Encoding.
        public static var identityOnly: Choice { Choice(order: [], identityAcceptable: true) }
    }

    /// Negotiates over every `Accept-Encoding` field of `headers` (a list split
    /// over several fields is one list). `offered`: lowercase coding tokens.
    public static func negotiate(_ headers: HTTPHeaders, offered: [String]) -> Choice {
        var found = false
        var weights = Weights(count: offered.count)
        for f in headers.fields where f.name.caseInsensitiveEquals("Accept-Encoding") {
            found = true
            weights.parse(f.value, offered: offered)
        }
        return found ? weights.choice() : .identityOnly
    }

    /// Negotiates over one field value (nil: the field was absent).
    public static func negotiate(_ value: String?, offered: [String]) -> Choice {
        guard let value else { return .identityOnly }
        var weights = Weights(count: offered.count)
        weights.parse(value, offered: offered)
        return weights.choice()
    }

    /// A q-value in thousandths (`qvalue` of RFC 9110 12.4.2), nil when malformed.
    public static func qValue<S: StringProtocol>(_ text: S) -> Int? {
        let b = Array(text.utf8)
        guard let first = b.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1"), b.count <= 5 else { return nil }
        var value = Int(first - UInt8(ascii: "0")) * 1000
        if b.count == 1 { return value }
        guard b[1] == UInt8(ascii: "."), b.count >= 2 else { return nil }
        var scale = 100
        for d in b.dropFirst(2) {
            guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return nil }
            value += Int(d - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        return value <= 1000 ? value : nil
    }

    /// The weights named so far: one per offered coding, `*` and identity (nil: not named).
    struct Weights {
        var codings: [Int?]
        var star: Int?
        var identity: Int?

        init(count: Int) { codings = Array(repeating: nil, count: count) }

        mutating func parse(_ value: String, offered: [String]) {
            for element in value.split(separator: ",") {
                var parts = element.split(separator: ";").makeIterator()
                guard let name = parts.next()?.trimmingOWS(), !name.isEmpty else { continue }
                var q = 1000
                var valid = true
                while let p = parts.next() {
                    let param = p.trimmingOWS()
                    guard let eq = param.firstIndex(of: "=") else { continue }
                    guard param[..<eq].trimmingOWS().lowercased() == "q" else { continue }
                    guard let v = AcceptEncoding.qValue(param[param.index(after: eq)...].trimmingOWS()) else { valid = false; break }
                    q = v
                }
                // A malformed weight drops its element rather than guessing one.
                guard valid else { continue }
                let token = name.lowercased()
                if token == "*" {
                    if star == nil { star = q }
                } else if token == "identity" {
                    if identity == nil { identity = q }
                } else if let i = offered.firstIndex(of: token == "x-gzip" ? "gzip" : token) {
                    if codings[i] == nil { codings[i] = q }
                }
            }
        }

        func choice() -> Choice {
            let identityQ = identity ?? star ?? 1000
            var ranked: [(index: Int, q: Int)] = []
            for (i, named) in codings.enumerated() {
                let q = named ?? star ?? 0
                // Identity named with a higher weight is preferred to this coding.
                if q > 0 && (identity == nil || q >= identityQ) { ranked.append((i, q)) }
            }
            // Stable for equal weights: the server's order decides between them.
            ranked.sort { $0.q != $1.q ? $0.q > $1.q : $0.index < $1.index }
            return Choice(order: ranked.map(\.index), identityAcceptable: identityQ > 0)
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (OWS).
    func trimmingOWS() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
