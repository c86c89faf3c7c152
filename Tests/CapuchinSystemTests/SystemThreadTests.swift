import Foundation
import CapuchinSystem
import XCTest

final class SystemThreadTests: XCTestCase {
    /// The kernel knows each thread by its name (15 bytes at most), as `top -H` shows it.
    func testAThreadCarriesItsNameInTheKernel() throws {
        let seen = Lock<[String]>([])
        for name in ["compression", "cache-store-writer"] {
            let t = try SystemThread(name: name) {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "unreadable"
                seen.withLock { $0.append(comm) }
            }
            t.join()
        }
        XCTAssertEqual(seen.withLock { $0 }, ["compression\n", "cache-store-wri\n"])
    }

    /// Nice is per thread on Linux: lowering a background thread's priority
    /// leaves the thread that started it as it was.
    func testLoweringAThreadsPriorityLeavesItsStarterAlone() throws {
        let before = try SystemThread.currentPriority()
        let seen = Lock<(Int32, Int32)?>(nil)
        let t = try SystemThread(name: "lowered") {
            let start = (try? SystemThread.currentPriority()) ?? -100
            try? SystemThread.lowerCurrentPriority(by: 10)
            let after = (try? SystemThread.currentPriority()) ?? -100
            seen.withLock { $0 = (start, after) }
        }
        t.join()
        let (start, after) = try XCTUnwrap(seen.withLock { $0 })
        XCTAssertEqual(start, before, "a new thread starts at its creator's nice value")
        XCTAssertEqual(after, min(19, before + 10))
        XCTAssertEqual(try SystemThread.currentPriority(), before)
    }
}
