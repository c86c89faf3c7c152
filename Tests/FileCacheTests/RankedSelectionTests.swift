import CapuchinSystem
import XCTest
@testable import FileCache

final class RankedSelectionTests: XCTestCase {
    /// The bounded heap gives exactly the sorted prefix, for every k, with many ties.
    func testFirstKEqualsTheSortedPrefix() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 2, 7, 100, 1_000] {
            let values = (0..<n).map { i in (value: Int.random(in: 0..<20, using: &rng), id: i) }
            let precedes: ((value: Int, id: Int), (value: Int, id: Int)) -> Bool = {
                $0.value != $1.value ? $0.value > $1.value : $0.id < $1.id
            }
            let sorted = values.sorted(by: precedes)
            for k in [0, 1, 3, 10, n / 5, n / 4, n - 1, n, n + 5, Int.max] where k >= 0 {
                let got = RankedSelection.first(k, of: values, by: precedes)
                XCTAssertEqual(got.map(\.id), Array(sorted.prefix(k)).map(\.id), "n=\(n) k=\(k)")
            }
        }
    }

    /// The file cache's listing (the heap path: a page far smaller than the
    /// cache) agrees with a full sort of every entry, for each order and page.
    func testListingPagesAgreeWithAFullSort() throws {
        let dir = TempDir()
        let cache = makeCache(testConfig { $0.capacityEntries = 1_000 }, shards: 4)
        var hits: [String: Int] = [:]
        for i in 0..<200 {
            let name = "f\(i)"
            _ = cache.admit(site: "s", path: "/" + name, file: try makeCandidate(dir.write(name, String(repeating: "x", count: 1 + i % 13))), worker: 0)
            let n = (i * 7919) % 11
            for _ in 0..<n { XCTAssertNotNil(cache.lookup(site: "s", path: "/" + name, worker: 0)) }
            hits["s/" + name] = n
        }
        let all = cache.entries(prefix: nil, sort: .key, limit: 10_000, offset: 0).rows
        XCTAssertEqual(all.count, 200)
        let byHits = all.sorted { ($0.hits, $1.key) > ($1.hits, $0.key) }.map(\.key)
        let bySize = all.sorted { ($0.size, $1.key) > ($1.size, $0.key) }.map(\.key)
        XCTAssertEqual(byHits.first.map { hits[$0] }, 10)
        for (sort, expected) in [(CacheEntrySort.hits, byHits), (.size, bySize)] {
            for (offset, limit) in [(0, 10), (10, 10), (0, 1), (37, 5), (195, 10), (0, 0)] {
                let page = cache.entries(prefix: nil, sort: sort, limit: limit, offset: offset)
                XCTAssertEqual(page.total, 200)
                XCTAssertEqual(page.rows.map(\.key), Array(expected.dropFirst(offset).prefix(limit)), "\(sort) \(offset)+\(limit)")
            }
        }
        let prefixed = cache.entries(prefix: "s/f1", sort: .hits, limit: 3, offset: 0)
        XCTAssertEqual(prefixed.total, all.filter { $0.key.hasPrefix("s/f1") }.count)
        XCTAssertEqual(prefixed.rows.map(\.key), Array(byHits.filter { $0.hasPrefix("s/f1") }.prefix(3)))
        XCTAssertEqual(cache.entries(prefix: nil, sort: .hits, limit: 5, offset: Int.max).rows.count, 0, "no overflow")
    }
}
