@testable import CapuchinSystem
import Glibc
import Synchronization
import XCTest

/// The one lock and the one thread.
final class LockTests: XCTestCase {
    func testExclusiveLockLosesNoIncrementAcrossThreads() throws {
        for shared in [false, true] {
            let counter = Lock(0, sharedReads: shared)
            let threads = try (0..<4).map { _ in
                try SystemThread(name: "adder") { for _ in 0..<20_000 { counter.withLock { $0 += 1 } } }
            }
            threads.forEach { $0.join() }
            XCTAssertEqual(counter.withReadLock { $0 }, 80_000, "sharedReads: \(shared)")
        }
    }

    /// An isolated lock guards as the plain one does; its mutex and value sit
    /// on cache lines of their own, and a value with storage is released.
    func testIsolatedLockGuardsAndOwnsItsLines() throws {
        let counter = Lock(0, isolated: true)
        let threads = try (0..<4).map { _ in
            try SystemThread(name: "adder") { for _ in 0..<20_000 { counter.withLock { $0 += 1 } } }
        }
        threads.forEach { $0.join() }
        XCTAssertEqual(counter.withLock { $0 }, 80_000)
        XCTAssertEqual(Int(bitPattern: counter.mutex) % 128, 0, "the mutex starts a line")
        let a = Lock([1, 2, 3], isolated: true), b = Lock([4], isolated: true)
        XCTAssertGreaterThanOrEqual(abs(Int(bitPattern: a.mutex) - Int(bitPattern: b.mutex)), 128)
        weak var weakValue: AnyObject?
        do {
            let value = NSObjectLike()
            weakValue = value
            let lock = Lock(value, isolated: true)
            XCTAssertTrue(lock.withLock { $0 } === value)
        }
        XCTAssertNil(weakValue, "the value is released with the lock")
    }

    /// Two readers of a `sharedReads` lock are inside at once: each waits
    /// (bounded) inside its read section for the other, and leaves.
    func testSharedReadersRunTogether() throws {
        let lock = Lock(7, sharedReads: true)
        let inside = Atomic<Int>(0)
        let sawOther = Atomic<Bool>(false)
        let reader = { @Sendable in
            lock.withReadLock { value in
                precondition(value == 7)
                inside.add(1, ordering: .sequentiallyConsistent)
                var spins = 0
                while inside.load(ordering: .sequentiallyConsistent) < 2 && spins < 5_000_000 { sched_yield(); spins += 1 }
                if inside.load(ordering: .sequentiallyConsistent) == 2 { sawOther.store(true, ordering: .sequentiallyConsistent) }
                inside.subtract(1, ordering: .sequentiallyConsistent)
            }
        }
        let a = try SystemThread(name: "reader-a", reader)
        let b = try SystemThread(name: "reader-b", reader)
        a.join()
        b.join()
        XCTAssertTrue(sawOther.load(ordering: .sequentiallyConsistent), "a reader waited for the other outside the lock")
    }

    func testVoidLockGuardsStateOutsideIt() throws {
        final class Box: @unchecked Sendable { var n = 0 } // safe: n only under `lock` below
        let box = Box()
        let lock = Lock()
        let threads = try (0..<3).map { _ in
            try SystemThread(name: "void-lock") { for _ in 0..<10_000 { lock.lock(); box.n += 1; lock.unlock() } }
        }
        threads.forEach { $0.join() }
        XCTAssertEqual(box.n, 30_000)
    }

    func testAThreadNobodyJoinsStillRuns() throws {
        let ran = Atomic<Bool>(false)
        do {
            _ = try SystemThread(name: "detached") { ran.store(true, ordering: .sequentiallyConsistent) }
        } // dropped here: detached, not cancelled
        var spins = 0
        while !ran.load(ordering: .sequentiallyConsistent) && spins < 5_000_000 { sched_yield(); spins += 1 }
        XCTAssertTrue(ran.load(ordering: .sequentiallyConsistent))
    }
}

private final class NSObjectLike: Sendable {}
