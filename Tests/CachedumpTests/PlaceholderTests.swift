import XCTest
@testable import CacheStore

final class CachedumpTestsPlaceholderTests: XCTestCase {
    func testBuilds() {}
}
