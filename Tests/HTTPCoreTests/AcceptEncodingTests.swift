import HTTPCore
import XCTest

final class AcceptEncodingTests: XCTestCase {
    let offered = ["br", "zstd", "gzip"]

    private func order(_ value: String?) -> [String] {
        AcceptEncoding.negotiate(value, offered: offered).order.map { offered[$0] }
    }

    func testAbsentFieldMeansIdentity() {
        XCTAssertEqual(AcceptEncoding.negotiate(nil as String?, offered: offered), .identityOnly)
        XCTAssertEqual(AcceptEncoding.negotiate(HTTPHeaders(), offered: offered), .identityOnly)
    }

    func testEmptyValueAcceptsOnlyIdentity() {
        let c = AcceptEncoding.negotiate("", offered: offered)
        XCTAssertEqual(c.order, [])
        XCTAssertTrue(c.identityAcceptable)
    }

    func testEqualWeightsFollowTheServerOrder() {
        XCTAssertEqual(order("gzip, br"), ["br", "gzip"])
        XCTAssertEqual(order("gzip, deflate, br, zstd"), ["br", "zstd", "gzip"])
        XCTAssertEqual(AcceptEncoding.negotiate("gzip, br", offered: ["gzip", "br"]).order, [0, 1])
    }

    func testHigherQWins() {
        XCTAssertEqual(order("br;q=0.5, gzip;q=0.8"), ["gzip", "br"])
        XCTAssertEqual(order("br;q=0.5, gzip"), ["gzip", "br"])
        XCTAssertEqual(order("zstd;q=0.001, br;q=0.002"), ["br", "zstd"])
    }

    func testQZeroRefuses() {
        XCTAssertEqual(order("br;q=0, gzip"), ["gzip"])
        XCTAssertEqual(order("br;q=0.000, gzip;q=0"), [])
    }

    func testStarCoversCodingsNotNamed() {
        XCTAssertEqual(order("*"), ["br", "zstd", "gzip"])
        XCTAssertEqual(order("br;q=0, *"), ["zstd", "gzip"])
        XCTAssertEqual(order("gzip, *;q=0"), ["gzip"])
    }

    func testIdentityRefusal() {
        let c = AcceptEncoding.negotiate("gzip;q=0.5, identity;q=0", offered: offered)
        XCTAssertEqual(c.order, [2])
        XCTAssertFalse(c.identityAcceptable)
        XCTAssertFalse(AcceptEncoding.negotiate("*;q=0", offered: offered).identityAcceptable)
        XCTAssertTrue(AcceptEncoding.negotiate("*;q=0, identity", offered: offered).identityAcceptable)
        XCTAssertTrue(AcceptEncoding.negotiate("br", offered: offered).identityAcceptable)
    }

    func testIdentityWeighedAboveACodingIsPreferred() {
        XCTAssertEqual(order("gzip;q=0.2, identity;q=0.9"), [])
        XCTAssertEqual(order("gzip;q=0.9, identity;q=0.2"), ["gzip"])
    }

    func testCaseSpacesAndAliases() {
        XCTAssertEqual(order("  GZip ;  Q=1 ,\tBR"), ["br", "gzip"])
        XCTAssertEqual(order("x-gzip"), ["gzip"])
    }

    func testMalformedWeightDropsOnlyItsElement() {
        XCTAssertEqual(order("br;q=2, gzip"), ["gzip"])
        XCTAssertEqual(order("br;q=abc, zstd;q=1.0001, gzip;q=0.5"), ["gzip"])
        XCTAssertEqual(order(",,, ;q=1, br"), ["br"])
    }

    func testSeveralFieldsAreOneList() {
        let h = HTTPHeaders([("Accept-Encoding", "gzip;q=0.5"), ("accept-encoding", "br")])
        XCTAssertEqual(AcceptEncoding.negotiate(h, offered: offered).order, [0, 2])
    }

    func testQValueSyntax() {
        XCTAssertEqual(AcceptEncoding.qValue("1"), 1000)
        XCTAssertEqual(AcceptEncoding.qValue("1.000"), 1000)
        XCTAssertEqual(AcceptEncoding.qValue("0.5"), 500)
        XCTAssertEqual(AcceptEncoding.qValue("0.125"), 125)
        XCTAssertNil(AcceptEncoding.qValue("1.5"))
        XCTAssertNil(AcceptEncoding.qValue("0.1234"))
        XCTAssertNil(AcceptEncoding.qValue("2"))
        XCTAssertNil(AcceptEncoding.qValue(""))
    }
}
