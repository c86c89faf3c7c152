import Foundation
import TestSupport
import XCTest
@testable import CacheStore

final class StoreCrashTests: XCTestCase {
    /// SIGKILLs a child that commits batches, 50 times at random moments; after
    /// each kill every record decodes, every committed batch is whole, the
    /// kept entry totals equal a full count and the tag index matches the records.
    func testKillNineNeverLeavesAPartialBatch() throws {
        let dir = makeTempDir("crash"), files = makeTempDir("crash-files")
        for i in 0..<20 { try Data("file \(i)".utf8).write(to: URL(fileURLWithPath: "\(files)/f\(i)")) }
        var rng = SystemRandomNumberGenerator()
        var lastBatches: UInt64 = 0
        for round in 0..<50 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: productPath("store-crash-child"))
            child.arguments = [dir, files]
            child.standardError = FileHandle.nullDevice
            try child.run()
            usleep(UInt32.random(in: 20_000...120_000, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "round \(round): the child died by itself")

            var o = StoreOptions()
            o.readOnly = true
            let store = try CacheStore(directory: dir, options: o)
            var perBatch: [String: Int] = [:]
            try store.forEachEntry { result in
                let r = try result.get() // every record decodes
                perBatch[String(decoding: r.extra, as: UTF8.self), default: 0] += 1
                return true
            }
            let batches = try store.counter("batches")
            XCTAssertGreaterThanOrEqual(batches, lastBatches, "round \(round): committed batches went missing")
            lastBatches = batches
            for (b, n) in perBatch { XCTAssertEqual(n, 20, "round \(round): batch \(b) is partly visible") }
            // The newest committed batch is always present (only batches 3 back are removed).
            if batches > 0 { XCTAssertEqual(perBatch[String(batches)], 20, "round \(round)") }
            if batches > 0 {
                let kept = try XCTUnwrap(try store.keptTotals(), "round \(round): no totals kept")
                XCTAssertEqual(kept, try store.countTotals(), "round \(round): kept totals differ from the records")
                XCTAssertEqual(kept.entries, try store.stats().entries, "round \(round)")
                let pairs = try store.tagPairsIndexedAndCarried()
                XCTAssertEqual(pairs.indexed, pairs.carried, "round \(round): the tag index disagrees with the records")
                XCTAssertEqual(try store.keys(taggedWith: ["batch-\(batches)"]).count, 20, "round \(round)")
            }
            store.close()
            let (status, out, _) = try runProduct("cachedump", ["verify", dir])
            XCTAssertEqual(status, 0, "round \(round): \(out)")
        }
        XCTAssertGreaterThan(lastBatches, 50, "the child committed too little to prove anything")
        // A changed file makes verify report it and exit 1.
        try Data("changed!".utf8).write(to: URL(fileURLWithPath: "\(files)/f3"))
        let (status, out, _) = try runProduct("cachedump", ["verify", dir])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(out.contains("STALE") && out.contains("size"), out)
    }
}
