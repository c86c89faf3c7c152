/// HTTP dates (RFC 9110 5.6.7): parses IMF-fixdate and the two obsolete forms
/// (RFC 850, asctime); formats IMF-fixdate. Seconds since the Unix epoch, UTC.
public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]   // 1970-01-01 was a Thursday

    /// The time `text` denotes, or nil when it is in none of the three formats.
    public static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        if parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT" {
            guard let day = Int(parts[1]), parts[1].count == 2, let month = monthIndex(parts[2]),
                  let year = Int(parts[3]), parts[3].count == 4 else { return nil }
            return build(year: year, month: month, day: day, time: parts[4])
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        if parts.count == 4, parts[0].hasSuffix(","), parts[3] == "GMT" {
            let dmy = parts[1].split(separator: "-")
            guard dmy.count == 3, let day = Int(dmy[0]), let month = monthIndex(dmy[1]), let yy = Int(dmy[2]), dmy[2].count == 2 else { return nil }
            // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
            let year = yy < 70 ? 2000 + yy : 1900 + yy
            return build(year: year, month: month, day: day, time: parts[2])
        }
        // asctime: Sun Nov  6 08:49:37 1994
        if parts.count == 5, parts[0].count == 3 {
            guard let month = monthIndex(parts[1]), let day = Int(parts[2]), let year = Int(parts[4]), parts[4].count == 4 else { return nil }
            return build(year: year, month: month, day: day, time: parts[3])
        }
        return nil
    }

    /// IMF-fixdate for `seconds` since the epoch.
    public static func format(_ seconds: Int64) -> String {
        let days = floorDiv(seconds, 86400)
        let secs = seconds - days * 86400
        let (y, m, d) = civil(fromDays: days)
        let weekday = Self.days[Int(((days % 7) + 7) % 7)]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekday), \(two(d)) \(months[Int(m) - 1]) \(y) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) GMT"
    }

    private static func monthIndex(_ s: Substring) -> Int? { months.firstIndex { $0 == s }.map { $0 + 1 } }

    private static func build(year: Int, month: Int, day: Int, time: Substring) -> Int64? {
        let hms = time.split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 3, hms.allSatisfy({ $0.count == 2 }), let h = Int(hms[0]), let mi = Int(hms[1]), let s = Int(hms[2]),
              h < 24, mi < 60, s < 61, (1...31).contains(day), year >= 1600 else { return nil }
        return daysFromCivil(Int64(year), Int64(month), Int64(day)) * 86400 + Int64(h * 3600 + mi * 60 + min(s, 59))
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Howard Hinnant's days_from_civil.
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = floorDiv(z, 146097)
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
