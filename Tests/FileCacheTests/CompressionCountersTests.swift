import CacheStore
import CapuchinServer
import Foundation
import XCTest
@testable import FileCache

/// Compression's counters are totals since the store was created, as the file
/// cache's: a run's counts reach the store (each second, and as the store
/// closes) and the next run starts from them.
final class CompressionCountersTests: XCTestCase {
    private func openStore(_ dir: String) throws -> StorePersistence { try openTestStore(dir) }

    /// One run's work: two compressions (one inline), three variant hits, a sibling hit, a refusal.
    private func work(_ c: CompressionCounters) {
        c.compressed(before: 20_000, after: 4_000, cpuSeconds: 0.002, inline: false)
        c.compressed(before: 3_000, after: 900, cpuSeconds: 0.0005, inline: true)
        c.variantsStored.wrappingAdd(2, ordering: .relaxed)
        for _ in 0..<3 { c.served(sibling: false, savedBytes: 16_000, worker: 0) }
        c.served(sibling: true, savedBytes: 2_100, worker: 1)
        c.refused.wrappingAdd(1, ordering: .relaxed)
    }

    func testCountersSurviveARestartAndAddUp() throws {
        let dir = TempDir()
        let path = dir.path + "/cache"
        var store = try openStore(path)
        let first = CompressionCounters(persistence: store)
        try first.loadTotals()
        work(first)
        let one = first.snapshot
        XCTAssertEqual(one.variantHits, 3)
        XCTAssertEqual(one.bytesSaved, 3 * 16_000 + 2_100)
        first.persist(force: true)
        try store.flush()
        store.close()

        store = try openStore(path)
        let second = CompressionCounters(persistence: store)
        XCTAssertEqual(second.snapshot, CompressionStats(), "nothing before the totals are read")
        try second.loadTotals()
        XCTAssertEqual(second.snapshot, one, "a new run starts from the stored totals")
        XCTAssertEqual(second.thisRun, CompressionStats())
        work(second)
        var two = one
        for (_, field) in CompressionStats.persisted { two[keyPath: field] = 2 * one[keyPath: field] }
        XCTAssertEqual(second.snapshot, two)
        // A periodic send is due only a second after the last one; a forced one always goes.
        second.persist(force: true)
        second.persist(force: true)
        try store.flush()
        XCTAssertEqual(try store.counter("compression.variant_hits"), 6, "deltas are sent once")
        XCTAssertEqual(try store.counter("compression.compressions"), 4)
        store.close()
    }

    func testTheServiceSendsTheLastDeltasAsTheCacheStoreCloses() throws {
        let dir = TempDir()
        let path = dir.path + "/cache"
        var store = try openStore(path)
        let variants = try VariantStore(directory: path + "/variants", persistence: store, marksHits: true)
        let service = try VariantService(config: CompressionConfig(), store: variants, capacity: 100, log: { _ in })
        work(service.counters)
        let counted = service.counters.snapshot
        // The cache plugin stops first and closes the store; the compression plugin stops after.
        store.close()
        service.stop()

        store = try openStore(path)
        let variants2 = try VariantStore(directory: path + "/variants", persistence: store, marksHits: true)
        let next = try VariantService(config: CompressionConfig(), store: variants2, capacity: 100, log: { _ in })
        XCTAssertEqual(next.counters.snapshot, counted)
        store.close()
    }
}
