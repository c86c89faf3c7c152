import XCTest
@testable import CachePolicies

final class CachePoliciesTestsPlaceholderTests: XCTestCase {
    func testBuilds() {}
}
