import XCTest
import Glibc
import CapuchinSystem
import HTTPCore
@testable import ReverseProxy
import TestSupport

/// Hit bodies do not cost a mapping each: small ones are copied into slabs,
/// large ones share a bounded set of mappings. Each request goes the way the
/// proxy's does: a lookup and the body for sending, else a fetch from the
/// origin (counted) that is stored.
final class ProxyBodyMappingTests: XCTestCase {
    private let limit = 4
    private let smallCount = 200
    private let largeCount = 12
    private var fetches = 0

    private func body(_ i: Int) -> [UInt8] {
        // Small ones 100-400 bytes; large ones just over the snapshot limit (mapped).
        let size = i < smallCount ? 100 + i % 300 : (64 << 10) + 1 + i
        return (0..<size).map { (j: Int) -> UInt8 in UInt8(truncatingIfNeeded: j &* 31 &+ i) }
    }

    private func get(_ s: ProxyBodyStore, _ i: Int) throws -> [UInt8] {
        let primary = "h:/r\(i)"
        if let o = s.lookup(primary: primary, requestHeaders: HTTPHeaders()), let m = s.mappedBody(o) {
            return m.count == 0 ? [] : Array(UnsafeRawBufferPointer(start: m.base, count: m.count))
        }
        fetches += 1
        let bytes = body(i)
        let w = try s.makeWriter()
        try w.append(bytes)
        let headers = HTTPHeaders([("Cache-Control", "max-age=60")])
        try s.commit(w, primary: primary, response: StoredResponse(status: 200, headers: headers, requestTime: 100, responseTime: 101,
                                                                   vary: VaryKey(responseHeaders: headers, request: HTTPHeaders()),
                                                                   bodySize: 0), nowNanos: 1)
        return bytes
    }

    func testMoreHitResponsesThanTheMappingLimitAllHitWithoutRefetch() throws {
        let dir = try TemporaryDirectory(prefix: "capuchin-proxy-maps")
        let s = try ProxyBodyStore(cacheDirectory: dir.path, index: QueuedIndex(), mappingLimit: limit)
        let mappingsBefore = MappedFile.fileMappings
        let total = smallCount + largeCount
        for round in 0..<3 {
            for i in 0..<total { XCTAssertEqual(try get(s, i), body(i), "response \(i), round \(round)") }
            // Every response fetched once, on the first round only.
            XCTAssertEqual(fetches, total, "round \(round)")
            XCTAssertLessThanOrEqual(s.heldMappings, limit)
            // Small bodies take no mapping; large ones at most the limit.
            XCTAssertLessThanOrEqual(MappedFile.fileMappings - mappingsBefore, limit, "round \(round)")
        }
        XCTAssertEqual(s.count, total)
    }

    /// Past the copies' memory, small bodies are mapped as large ones are
    /// (a budget of 0: every body), still within the mapping limit, still hits.
    func testSmallBodiesPastTheCopiesMemoryAreMappedWithinTheLimit() throws {
        let dir = try TemporaryDirectory(prefix: "capuchin-proxy-maps")
        let s = try ProxyBodyStore(cacheDirectory: dir.path, index: QueuedIndex(), mappingLimit: limit, smallBodyMemory: 0)
        let mappingsBefore = MappedFile.fileMappings
        for round in 0..<2 {
            for i in 0..<smallCount { XCTAssertEqual(try get(s, i), body(i), "response \(i), round \(round)") }
            XCTAssertEqual(fetches, smallCount, "fetched on the first round only (round \(round))")
            // Hits (from the second round): the small bodies went to the bounded mappings.
            XCTAssertEqual(s.heldMappings, round == 0 ? 0 : limit, "round \(round)")
            XCTAssertLessThanOrEqual(MappedFile.fileMappings - mappingsBefore, limit, "round \(round)")
        }
    }

    func testARemovedLargeBodyLosesItsMappingAndADamagedOneIsNotServed() throws {
        let dir = try TemporaryDirectory(prefix: "capuchin-proxy-maps")
        let s = try ProxyBodyStore(cacheDirectory: dir.path, index: QueuedIndex(), mappingLimit: limit)
        let a = smallCount, b = smallCount + 1
        _ = try get(s, a)
        _ = try get(s, b)
        XCTAssertEqual(try get(s, a), body(a))
        XCTAssertEqual(try get(s, b), body(b))
        XCTAssertEqual(s.heldMappings, 2)
        s.invalidate(primary: "h:/r\(a)")
        XCTAssertEqual(s.heldMappings, 1)
        // A large body cut on disk before its first hit is not served (the entry goes).
        let c = smallCount + 2
        _ = try get(s, c)
        let object = try XCTUnwrap(s.lookup(primary: "h:/r\(c)", requestHeaders: HTTPHeaders()))
        XCTAssertEqual(truncate(object.entry.bodyPath, 10), 0)
        XCTAssertNil(s.mappedBody(object))
        XCTAssertNil(s.lookup(primary: "h:/r\(c)", requestHeaders: HTTPHeaders()))
    }
}
