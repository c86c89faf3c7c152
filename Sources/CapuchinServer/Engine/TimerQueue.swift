/// A scheduled action on a worker's loop; `cancel()` stops it if it has not run.
public final class TimerHandle {
    let deadline: UInt64
    fileprivate(set) var action: (() -> Void)?

    init(deadline: UInt64, action: @escaping () -> Void) {
        self.deadline = deadline
        self.action = action
    }

    public var isPending: Bool { action != nil }

    /// Idempotent; safe from inside any callback on the same worker.
    public func cancel() { action = nil }
}

/// The worker's timers: a binary min-heap on deadline. Cancelled timers stay
/// in the heap until they come due (cheap cancel, no search).
struct TimerQueue {
    private var heap: [TimerHandle] = []

    var isEmpty: Bool { heap.isEmpty }

    /// Monotonic nanoseconds of the earliest timer, if any.
    var nextDeadline: UInt64? { heap.first?.deadline }

    mutating func schedule(_ t: TimerHandle) {
        heap.append(t)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].deadline <= heap[i].deadline { break }
            heap.swapAt(p, i)
            i = p
        }
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    mutating func popDue(now: UInt64) -> TimerHandle? {
        guard let top = heap.first, top.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
                if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
                if m == i { break }
                heap.swapAt(m, i)
                i = m
            }
        }
        return top
    }

    /// Removes every due timer; the caller fires them with `fire(_:)` once
    /// this mutation has ended: an action may schedule a timer, and running
    /// it inside a mutating method of the queue would be an overlapping
    /// access (a crash in debug builds, heap corruption without the checks).
    mutating func takeDue(now: UInt64) -> [TimerHandle] {
        var due: [TimerHandle] = []
        while let t = popDue(now: now) { due.append(t) }
        return due
    }

    /// Runs the timers `takeDue` returned (those an action schedules run on a later pass).
    static func fire(_ due: [TimerHandle]) {
        for t in due {
            if let a = t.action { t.action = nil; a() }
        }
    }
}
