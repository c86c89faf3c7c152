import XCTest
import HTTPCore
@testable import ReverseProxy

final class LoopGuardTests: XCTestCase {
    let guardWildcard = LoopGuard(nodeID: "n1", listenAddresses: [BackendAddress(host: "0.0.0.0", port: 8080)])

    func testOwnListenAddressesAreSelf() {
        XCTAssertTrue(guardWildcard.isSelf(addr("127.0.0.1:8080")))
        XCTAssertTrue(guardWildcard.isSelf(addr("localhost:8080")))
        XCTAssertTrue(guardWildcard.isSelf(addr("0.0.0.0:8080")))
        XCTAssertTrue(guardWildcard.isSelf(addr("[::1]:8080")))
        XCTAssertFalse(guardWildcard.isSelf(addr("127.0.0.1:8081")))
        XCTAssertFalse(guardWildcard.isSelf(addr("10.0.0.5:8080")))
        let specific = LoopGuard(nodeID: "n1", listenAddresses: [BackendAddress(host: "10.0.0.5", port: 80)])
        XCTAssertTrue(specific.isSelf(addr("10.0.0.5:80")))
        XCTAssertFalse(specific.isSelf(addr("127.0.0.1:80")))
        let loopback = LoopGuard(nodeID: "n1", listenAddresses: [BackendAddress(host: "127.0.0.1", port: 80)])
        XCTAssertTrue(loopback.isSelf(addr("localhost:80")))
    }

    func testPoolSkipsSelfBackend() {
        let p = BackendPool(config: PoolConfig(name: "p", backends: [addr("127.0.0.1:8080"), addr("127.0.0.1:9000")], balance: .firstAlive),
                            isSelf: guardWildcard.isSelf)
        XCTAssertTrue(p.backends[0].isSelf)
        XCTAssertEqual(p.pick(key: "/", now: 0), 1)
    }

    func testRequestsThatPassedHereAreLoops() {
        XCTAssertTrue(guardWildcard.isLoop(HTTPHeaders([("Via", "1.0 fred, 1.1 capuchin-n1")])))
        XCTAssertTrue(guardWildcard.isLoop(HTTPHeaders([("via", "1.1 other"), ("Via", "1.1 Capuchin-N1 (comment)")])))
        XCTAssertTrue(guardWildcard.isLoop(HTTPHeaders([("X-Capuchin-Loop", "n0, n1")])))
        XCTAssertFalse(guardWildcard.isLoop(HTTPHeaders([("Via", "1.1 capuchin-n2, 1.1 capuchin-n1x")])))
        XCTAssertFalse(guardWildcard.isLoop(HTTPHeaders([("X-Capuchin-Loop", "n11")])))
        XCTAssertFalse(guardWildcard.isLoop(HTTPHeaders()))
        XCTAssertEqual(guardWildcard.loopDetectedResponse().status, 508)
    }

    func testOurUpstreamRequestIsDetectedWhenItComesBack() {
        let config = PoolConfig(name: "p", backends: [addr("127.0.0.1:8080")])
        let h = UpstreamRequestBuilder(pool: config, loopGuard: guardWildcard)
            .headers(for: makeRequest(), client: ClientInfo(address: "1.2.3.4"), backend: config.backends[0], body: .none)
        XCTAssertTrue(guardWildcard.isLoop(h))
        XCTAssertFalse(LoopGuard(nodeID: "other", listenAddresses: []).isLoop(h))
    }
}
