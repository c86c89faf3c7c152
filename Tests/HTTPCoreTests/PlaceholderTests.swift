import XCTest
@testable import HTTPCore

final class HTTPCoreTestsPlaceholderTests: XCTestCase {
    func testBuilds() {}
}
