import XCTest
@testable import CacheStore

final class CacheStoreTestsPlaceholderTests: XCTestCase {
    func testBuilds() {}
}
