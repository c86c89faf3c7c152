import HTTPCore

/// A response as the cache keeps it: status, the headers to serve (hop-by-hop
/// and unstorable fields removed; Age, Date, Cache-Control kept for the age
/// and freshness arithmetic), when it was requested and received, its Vary key.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var headers: HTTPHeaders {
        didSet {
            cacheControl = CacheControl.forResponse(headers)
            dates = StoredDates(headers)
        }
    }
    /// Parsed once per headers: a hit asks for it every time (it was 14% of a hit).
    public private(set) var cacheControl: CacheControl
    /// Date, Age, Expires and Last-Modified, parsed once per headers (each hit's age and freshness need them).
    public private(set) var dates: StoredDates
    /// Wall-clock seconds when the request that produced it was sent.
    public var requestTime: Int64
    /// Wall-clock seconds when its head was received.
    public var responseTime: Int64
    public var vary: VaryKey
    public var bodySize: Int

    public init(status: Int, headers: HTTPHeaders, requestTime: Int64, responseTime: Int64, vary: VaryKey, bodySize: Int) {
        self.status = status
        self.headers = headers
        cacheControl = CacheControl.forResponse(headers)
        dates = StoredDates(headers)
        self.requestTime = requestTime
        self.responseTime = responseTime
        self.vary = vary
        self.bodySize = bodySize
    }

    public var etag: String? { headers["ETag"] }
    public var lastModified: String? { headers["Last-Modified"] }
    public var hasValidator: Bool { etag != nil || lastModified != nil }

    /// current_age (RFC 9111 4.2.3) at wall-clock `now`.
    public func currentAge(now: Int64) -> Int64 {
        let dateValue = dates.date ?? responseTime
        let ageValue = dates.age
        let apparentAge = max(0, responseTime - dateValue)
        let responseDelay = max(0, responseTime - requestTime)
        let correctedAgeValue = ageValue + responseDelay
        let correctedInitialAge = max(apparentAge, correctedAgeValue)
        let residentTime = max(0, now - responseTime)
        return correctedInitialAge + residentTime
    }

}

/// The header fields of a stored response that its age and freshness use, parsed.
public struct StoredDates: Sendable, Equatable {
    /// Date, seconds since 1970; nil when absent or invalid.
    public var date: Int64?
    /// Age in seconds; 0 when absent or invalid.
    public var age: Int64
    /// nil without Expires; `.some(nil)` when it is invalid (already expired, RFC 9111 5.3).
    public var expires: Int64??
    /// Last-Modified, seconds since 1970; nil when absent or invalid.
    public var lastModified: Int?

    public init(_ headers: HTTPHeaders) {
        date = headers["Date"].flatMap { HTTPDate.parse($0) }.map(Int64.init)
        // A list ("7200, 0") or repeated lines: the first value counts (RFC 9111 5.1 asks
        // for a single value; taking the first keeps an old age from being hidden).
        age = headers["Age"].flatMap { v in
            CacheControl.deltaSeconds(FieldSyntax.trimOWS(v.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)[0]))
        } ?? 0
        expires = headers["Expires"].map { HTTPDate.parse($0).map(Int64.init) }
        lastModified = headers["Last-Modified"].flatMap { HTTPDate.parse($0) }.map { Int($0) }
    }
}

extension StoredResponse {
    /// Field-by-field equality (HTTPHeaders' tuples are not Equatable).
    public static func == (a: StoredResponse, b: StoredResponse) -> Bool {
        a.status == b.status && a.requestTime == b.requestTime && a.responseTime == b.responseTime
            && a.vary == b.vary && a.bodySize == b.bodySize
            && a.headers.fields.count == b.headers.fields.count
            && zip(a.headers.fields, b.headers.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
