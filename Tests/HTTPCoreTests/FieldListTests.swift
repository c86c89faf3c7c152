import XCTest
@testable import HTTPCore

/// `FieldSyntax.hasListElement`: a directive or token of a comma-separated
/// field value, by name, never a substring of another element.
final class FieldListTests: XCTestCase {
    func testFindsAnElementByNameOnly() {
        let yes = ["no-transform", "max-age=0, no-transform", "No-Transform", "public,no-transform ,max-age=5",
                   "private=\"a, b\", no-transform", "no-transform=1", "  no-transform  "]
        for v in yes { XCTAssertTrue(FieldSyntax.hasListElement(v, named: "no-transform"), v) }
        let no = ["", "max-age=0", "no-transformx", "x-no-transform", "private=\"no-transform\"", "no-cache=\"no-transform, x\"",
                  "no transform", ","]
        for v in no { XCTAssertFalse(FieldSyntax.hasListElement(v, named: "no-transform"), v) }
        XCTAssertTrue(FieldSyntax.hasListElement("keep-alive, Close", named: "close"))
        XCTAssertFalse(FieldSyntax.hasListElement("x-closed", named: "close"))
    }
}
