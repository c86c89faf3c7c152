/// HTTP dates (RFC 9110 5.6.7): IMF-fixdate out; IMF-fixdate, RFC 850 and
/// asctime in, as a recipient must accept. All times are UTC seconds since 1970.
public enum HTTPDate {
    static let dayNames: [StaticString] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let longDayNames = ["thursday", "friday", "saturday", "sunday", "monday", "tuesday", "wednesday"]
    static let monthNames: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` for `epochSeconds`.
    public static func format(epochSeconds: Int) -> String {
        var out = [UInt8]()
        out.reserveCapacity(29)
        append(epochSeconds: epochSeconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The length of an IMF-fixdate.
    public static let length = 29

    /// Appends the 29-byte IMF-fixdate for `epochSeconds` to `out` (no allocation
    /// beyond `out`'s growth), for callers building header bytes.
    public static func append(epochSeconds: Int, to out: inout [UInt8]) {
        let n = out.count
        out.append(contentsOf: repeatElement(0, count: length))
        out.withUnsafeMutableBufferPointer { write(epochSeconds: epochSeconds, to: $0.baseAddress! + n) }
    }

    /// Writes the 29-byte IMF-fixdate for `epochSeconds` at `p`: byte stores
    /// only (a hit's head is built with it, and per-byte appends with their
    /// capacity and uniqueness checks cost a tenth of the hit).
    public static func write(epochSeconds: Int, to p: UnsafeMutablePointer<UInt8>) {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let secs = epochSeconds - days * 86400
        let (y, m, d) = civil(fromDays: days)
        let weekday = ((days % 7) + 7) % 7
        copy(dayNames[weekday], p)
        p[3] = UInt8(ascii: ","); p[4] = UInt8(ascii: " ")
        two(d, p + 5)
        p[7] = UInt8(ascii: " ")
        copy(monthNames[m - 1], p + 8)
        p[11] = UInt8(ascii: " ")
        let year = max(0, min(9999, y))
        two(year / 100, p + 12)
        two(year % 100, p + 14)
        p[16] = UInt8(ascii: " ")
        two(secs / 3600, p + 17)
        p[19] = UInt8(ascii: ":")
        two(secs / 60 % 60, p + 20)
        p[22] = UInt8(ascii: ":")
        two(secs % 60, p + 23)
        copy(" GMT", p + 25)
    }

    /// Parses an HTTP-date in any of the three formats. A two-digit RFC 850 year
    /// is resolved as RFC 9110 says (more than 50 years ahead of `now` means the
    /// previous century) when `now` is given, else as 1970-2069.
    /// Returns nil for anything else (the caller then ignores the field, as
    /// RFC 9110 13.1.3 requires for If-Modified-Since).
    public static func parse(_ text: String, now: Int? = nil) -> Int? {
        var text = text
        return text.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0), now: now) }
    }

    static func parse(bytes b: UnsafeRawBufferPointer, now: Int?) -> Int? {
        if b.count == 29, b[3] == UInt8(ascii: ","), dayIndex(b, 0..<3) != nil {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            guard b[4] == 32, b[7] == 32, b[11] == 32, b[16] == 32, b[25] == 32, b.equalsCase(26..<29, "GMT"),
                  let d = number(b, 5..<7), let m = month(b, 8..<11), let y = number(b, 12..<16),
                  let t = time(b, 17..<25) else { return nil }
            return epoch(y, m, d, t)
        }
        if b.count == 24, b[3] == 32, dayIndex(b, 0..<3) != nil {
            // asctime: Sun Nov  6 08:49:37 1994
            guard b[7] == 32, b[10] == 32, b[19] == 32, let m = month(b, 4..<7),
                  let d = b[8] == 32 ? number(b, 9..<10) : number(b, 8..<10),
                  let t = time(b, 11..<19), let y = number(b, 20..<24) else { return nil }
            return epoch(y, m, d, t)
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        var comma = 0
        while comma < b.count, comma < 10, b[comma] != UInt8(ascii: ",") { comma += 1 }
        guard comma < b.count, b.count == comma + 24 else { return nil }
        var name = ""
        for j in 0..<comma { name.append(Character(Unicode.Scalar(ByteClass.lower(b[j])))) }
        guard longDayNames.contains(name) else { return nil }
        let s = comma + 1
        guard b[s] == 32, b[s + 3] == UInt8(ascii: "-"), b[s + 7] == UInt8(ascii: "-"), b[s + 10] == 32,
              b[s + 19] == 32, b.equalsCase(s + 20..<s + 23 + 0, "GMT"),
              let d = number(b, s + 1..<s + 3), let m = month(b, s + 4..<s + 7), let yy = number(b, s + 8..<s + 10),
              let t = time(b, s + 11..<s + 19) else { return nil }
        var year = yy < 70 ? 2000 + yy : 1900 + yy
        if let now {
            let currentYear = civil(fromDays: now / 86400).0
            year = currentYear / 100 * 100 + yy
            if year > currentYear + 50 { year -= 100 }
        }
        return epoch(year, m, d, t)
    }

    private static func epoch(_ y: Int, _ m: Int, _ d: Int, _ t: Int) -> Int? {
        guard d >= 1, d <= daysIn(month: m, year: y) else { return nil }
        return days(fromCivil: y, m, d) * 86400 + t
    }

    private static func daysIn(month m: Int, year y: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func time(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        let s = r.lowerBound
        guard b[s + 2] == UInt8(ascii: ":"), b[s + 5] == UInt8(ascii: ":"),
              let h = number(b, s..<s + 2), let mi = number(b, s + 3..<s + 5), let se = number(b, s + 6..<s + 8),
              h < 24, mi < 60, se <= 60 else { return nil }
        return h * 3600 + mi * 60 + se
    }

    private static func number(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        // A while loop with unchecked arithmetic (two to four digits: no overflow);
        // a for-in over the range cost about 48 instructions a number.
        var v = 0
        var j = r.lowerBound
        while j < r.upperBound {
            let digit = b[j] &- 48
            guard digit < 10 else { return nil }
            v = v &* 10 &+ Int(digit)
            j &+= 1
        }
        return v
    }

    /// Day and month names as words of their three bytes (`word(_:at:)`): a name
    /// is found with one comparison a candidate, not a byte comparison call each.
    static let monthWords = monthNames.map(word)
    static let dayWords = dayNames.map(word)

    /// The three bytes at `s` as one word, the first byte lowest.
    @inline(__always)
    private static func word(_ b: UnsafeRawBufferPointer, at s: Int) -> UInt32 {
        UInt32(b[s]) | UInt32(b[s + 1]) << 8 | UInt32(b[s + 2]) << 16
    }

    private static func word(_ name: StaticString) -> UInt32 {
        word(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), at: 0)
    }

    /// 1-12 for an exact (case-sensitive) month name in `b[r]`.
    private static func month(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard r.count == 3 else { return nil }
        return monthWords.firstIndex(of: word(b, at: r.lowerBound)).map { $0 + 1 }
    }

    private static func dayIndex(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard r.count == 3 else { return nil }
        return dayWords.firstIndex(of: word(b, at: r.lowerBound))
    }

    @inline(__always)
    private static func two(_ v: Int, _ p: UnsafeMutablePointer<UInt8>) {
        p[0] = UInt8(48 + v / 10 % 10)
        p[1] = UInt8(48 + v % 10)
    }

    @inline(__always)
    private static func copy(_ s: StaticString, _ p: UnsafeMutablePointer<UInt8>) {
        p.update(from: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    /// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func days(fromCivil y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
