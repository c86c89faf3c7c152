import XCTest
@testable import CapuchinServer

/// The event loop's lifetime rule: what it reaches unretained must outlive the
/// iteration in which it was removed (a close in the middle of a call on it).
final class DescriptorTableTests: XCTestCase {
    private final class Owner: DescriptorOwner {
        let token: UInt64
        init(token: UInt64) { self.token = token }
    }

    func testAReferenceFindsOnlyTheElementOfThatToken() {
        var table = DescriptorTable<Owner>(tag: 0, keepsRemoved: true)
        let token = table.nextToken(for: 7)
        let e = Owner(token: token)
        table.insert(e)
        XCTAssertTrue(table.reference(for: token)?.takeUnretainedValue() === e)
        // The same descriptor number with another serial (a reused fd) finds nothing.
        XCTAssertNil(table.reference(for: table.nextToken(for: 7)))
        XCTAssertNil(table.reference(for: token + 1))
        XCTAssertTrue(table.remove(e))
        XCTAssertNil(table.reference(for: token), "removed: no longer found")
    }

    func testARemovedElementLivesUntilTheRemovedAreReleased() {
        var table = DescriptorTable<Owner>(tag: 0, keepsRemoved: true)
        weak var gone: Owner?
        do {
            let token = table.nextToken(for: 3)
            let e = Owner(token: token)
            gone = e
            table.insert(e)
            XCTAssertTrue(table.remove(e))
        }
        XCTAssertNotNil(gone, "kept after removal, for the rest of the loop iteration")
        XCTAssertEqual(table.count, 0)
        table.releaseRemoved()
        XCTAssertNil(gone, "freed once the loop releases what it removed")
    }

    func testATableThatDoesNotKeepRemovedElementsFreesThemAtOnce() {
        var table = DescriptorTable<Owner>(tag: 0)
        weak var gone: Owner?
        do {
            let e = Owner(token: table.nextToken(for: 3))
            gone = e
            table.insert(e)
            XCTAssertTrue(table.remove(e))
        }
        XCTAssertNil(gone)
    }
}
