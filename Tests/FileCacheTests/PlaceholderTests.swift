import XCTest
@testable import FileCache

final class FileCacheTestsPlaceholderTests: XCTestCase {
    func testBuilds() {}
}
