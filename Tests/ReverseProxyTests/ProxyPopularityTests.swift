import CacheStore
import HTTPCore
import XCTest
@testable import ReverseProxy
import TestSupport

/// The proxy cache's popularity survives restarts: a full cache whose oldest
/// responses are its popular ones is restarted (clean, or as after kill -9),
/// then new responses are stored until most old ones are evicted; the popular
/// ones stay, where insertion order would have evicted them first.
final class ProxyPopularityTests: XCTestCase {
    private var tmp: TemporaryDirectory!
    private var dir: String { tmp.path }
    private let capacity = 100  // each response charged 1% (over 2% is not stored once full)
    private let popular = 0..<10

    override func setUpWithError() throws { tmp = try TemporaryDirectory(prefix: "capuchin-popularity") }

    override func tearDown() { tmp = nil }

    private func open() throws -> (CacheStore, ProxyBodyStore) {
        let index = try CacheStore(directory: dir + "/proxy-index")
        let store = try ProxyBodyStore(cacheDirectory: dir, index: CacheStoreIndex(store: index),
                                       limit: ProxyCacheLimit(bytes: capacity * 1000, entries: capacity))
        return (index, store)
    }

    private func primary(_ i: Int) -> String { "http://example.com/r\(i)" }

    private func put(_ s: ProxyBodyStore, _ i: Int) throws {
        let w = try s.makeWriter()
        try w.append(Array("response \(i)".utf8))
        let headers = HTTPHeaders([("Cache-Control", "max-age=600")])
        let r = StoredResponse(status: 200, headers: headers, requestTime: 100, responseTime: 101,
                               vary: VaryKey(responseHeaders: headers, request: HTTPHeaders()), bodySize: 0)
        try s.commit(w, primary: primary(i), response: r, nowNanos: Int64(i + 1))
    }

    private func lookup(_ s: ProxyBodyStore, _ i: Int) -> CachedObject? { s.lookup(primary: primary(i), requestHeaders: HTTPHeaders()) }

    /// Fills the cache, makes `popular` popular (ten hits each), restarts as `stop`
    /// says, stores twice the capacity of new responses; returns which old ones are left.
    private func oldSurvivors(stop: (CacheStore, ProxyBodyStore) throws -> Void) throws -> Set<Int> {
        var (index, s) = try open()
        for i in 0..<capacity { try put(s, i) }
        for _ in 0..<10 {
            for i in popular { s.recordHit(try XCTUnwrap(lookup(s, i))) }
        }
        try stop(index, s)
        (index, s) = try open()
        defer { index.close() }
        XCTAssertEqual(s.count, capacity, "everything came back")
        // Each new response is asked for a few times (fewer than the popular
        // ones): more than the unpopular old ones, so the policy lets them in.
        for i in capacity..<3 * capacity {
            do { try put(s, i) } catch ProxyStoreError.notAdmitted {}
            for _ in 0..<3 { if let o = lookup(s, i) { s.recordHit(o) } }
        }
        let left = Set((0..<capacity).filter { lookup(s, $0) != nil })
        XCTAssertLessThanOrEqual(left.count, capacity / 2, "the new responses evicted most old ones: \(left.sorted())")
        return left
    }

    func testPopularResponsesSurviveACleanRestart() throws {
        let left = try oldSurvivors { index, s in
            s.persistPolicyState()
            try index.flush()
            index.close()
        }
        XCTAssertTrue(Set(popular).isSubset(of: left), "popular responses evicted: left \(left.sorted())")
    }

    func testPopularResponsesSurviveAKill9() throws {
        // Only what the hits wrote on their own (one touch per response per
        // commit interval) reaches the index: no state is saved at the stop.
        let left = try oldSurvivors { index, _ in
            try index.flush()
            index.close()
        }
        XCTAssertTrue(Set(popular).isSubset(of: left), "popular responses evicted: left \(left.sorted())")
    }

    func testACleanStopWritesEveryHitAndTheGlobalState() throws {
        let (index, s) = try open()
        for i in 0..<capacity { try put(s, i) }
        for _ in 0..<10 { s.recordHit(try XCTUnwrap(lookup(s, 0))) }
        s.persistPolicyState()
        try index.flush()
        let record = try XCTUnwrap(try index.get(try XCTUnwrap(lookup(s, 0)).entry.key))
        XCTAssertEqual(record.accessCount, 10, "the first hit's touch and the nine sent at the stop")
        XCTAssertNotEqual(record.policySequence, 0)
        XCTAssertFalse(try XCTUnwrap(try index.meta(ProxyBodyStore.policyBlobName)).isEmpty)
        index.close()
    }
}
