import HTTPCore

/// Why a response is not stored.
public enum NotStorableReason: String, Sendable, Equatable {
    case method            // only GET responses are stored
    case status            // partial, uncacheable or not understood status
    case requestNoStore
    case noStore
    case privateResponse
    case authorization     // request had Authorization; response did not allow sharing
    case setCookie         // Set-Cookie without no-cache="set-cookie"/private="set-cookie"
    case varyStar
    case noFreshness       // neither freshness nor a validator
    case tooLarge
}

/// The cache's verdict on a response.
public enum Storability: Sendable, Equatable {
    /// Store, with these headers (unstorable fields removed).
    case store(HTTPHeaders)
    case notStorable(NotStorableReason)

    public static func == (a: Storability, b: Storability) -> Bool {
        switch (a, b) {
        case (.notStorable(let x), .notStorable(let y)): return x == y
        case (.store(let x), .store(let y)): return x.fields.map(\.name) == y.fields.map(\.name) && x.fields.map(\.value) == y.fields.map(\.value)
        default: return false
        }
    }
}
