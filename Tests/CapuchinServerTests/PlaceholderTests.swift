import XCTest
@testable import CapuchinServer

final class CapuchinServerTestsPlaceholderTests: XCTestCase {
    func testBuilds() {}
}
