import CapuchinSystem
import HTTPCore

/// The `Date:` header line and the access log's timestamp, rebuilt at most once
/// a second per worker.
struct DateCache {
    private(set) var second = -1
    /// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    private(set) var headerLine = DateLine()
    /// "[06/Nov/1994:08:49:37 +0000]"
    private(set) var logStamp: [UInt8] = []

    @inline(__always)
    mutating func refresh() {
        let now = Clock.wallSeconds()
        if now == second { return }
        second = now
        headerLine = DateLine(epochSeconds: now)
        logStamp = Array(Self.commonLogTime(now).utf8)
    }

    static func commonLogTime(_ seconds: Int) -> String {
        let c = CivilTime(epochSeconds: seconds)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "[\(two(c.day))/\(months[c.month - 1])/\(c.year):\(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000]"
    }
}

/// UTC calendar fields of an epoch time (days-from-civil inverse, no libc locale).
struct CivilTime {
    var year, month, day, hour, minute, second: Int

    init(epochSeconds t: Int) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = t - days * 86400
        hour = secs / 3600; minute = secs % 3600 / 60; second = secs % 60
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}
