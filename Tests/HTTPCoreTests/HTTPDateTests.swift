import XCTest
@testable import HTTPCore

final class HTTPDateTests: XCTestCase {
    func testFormat() {
        XCTAssertEqual(HTTPDate.format(epochSeconds: 784111777), "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertEqual(HTTPDate.format(epochSeconds: 0), "Thu, 01 Jan 1970 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.format(epochSeconds: 951782400), "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    func testParsesAllThreeFormats() {
        XCTAssertEqual(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777)
        XCTAssertEqual(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777)
        XCTAssertEqual(HTTPDate.parse("Sun Nov  6 08:49:37 1994"), 784111777)
    }

    func testTwoDigitYearRelativeToNow() {
        let now2060 = HTTPDate.days(fromCivil: 2060, 1, 1) * 86400
        // 94 read in 2060: 2094 is under 50 years ahead.
        XCTAssertEqual(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now2060),
                       HTTPDate.days(fromCivil: 2094, 11, 6) * 86400 + 31777)
        let now2025 = HTTPDate.days(fromCivil: 2025, 1, 1) * 86400
        XCTAssertEqual(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now2025), 784111777)
    }

    func testRejects() {
        for s in ["", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                  "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ", "Funday, 06-Nov-94 08:49:37 GMT",
                  "Sun Nov 6 08:49:37 1994", "1994-11-06T08:49:37Z"] {
            XCTAssertNil(HTTPDate.parse(s), s)
        }
    }

    func testRoundTrip() {
        var t = -86400 * 365
        while t < 4_000_000_000 {
            XCTAssertEqual(HTTPDate.parse(HTTPDate.format(epochSeconds: t)), t)
            t += 7_777_777
        }
    }

    /// Every day and month name in all three formats; names are matched exactly
    /// (case-sensitive, as sent by the format), digits only as digits.
    func testNamesAndDigitsInEveryPlace() {
        for day in 0..<7 {
            for month in 1...12 {
                let t = HTTPDate.days(fromCivil: 2001, month, 3 + day) * 86400 + 3723
                let fixdate = HTTPDate.format(epochSeconds: t)
                XCTAssertEqual(HTTPDate.parse(fixdate), t, fixdate)
                let weekday = String(fixdate.prefix(3)), name = String(fixdate.dropFirst(8).prefix(3))
                XCTAssertEqual(HTTPDate.parse("\(weekday) \(name) \(fixdate.dropFirst(5).prefix(2)) 01:02:03 2001"), t)
                XCTAssertNil(HTTPDate.parse(fixdate.replacingOccurrences(of: name, with: name.lowercased())), fixdate)
                XCTAssertNil(HTTPDate.parse(fixdate.replacingOccurrences(of: name, with: name.uppercased())), fixdate)
                XCTAssertNil(HTTPDate.parse(weekday.lowercased() + fixdate.dropFirst(3)), fixdate)
            }
        }
        for bad in ["Sun, 0/ Nov 1994 08:49:37 GMT", "Sun, 06 Nov 199: 08:49:37 GMT", "Sun, 06 Nov 1994 08:4 :37 GMT",
                    "Sun, 06 Nov 1994 08:49:3a GMT", "Sun, 06 Nov 1994 08:49:37 gmt", "Sun, 06 Nox 1994 08:49:37 GMT",
                    "Sun Nov  6 08:49:37 19 4", "Sunday, 06-Nov-9x 08:49:37 GMT"] {
            XCTAssertNil(HTTPDate.parse(bad), bad)
        }
    }
}
