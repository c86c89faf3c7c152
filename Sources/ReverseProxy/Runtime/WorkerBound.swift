/// A value that belongs to one worker thread, carried through a closure that
/// another thread holds (a coalescing waiter) and opened only back on its own
/// worker (after `LoopPoster.post`). The compiler cannot check that; the one
/// place that makes these keeps to it.
struct WorkerBound<Value>: @unchecked Sendable { // safe: opened only on its own worker thread (see above)
    let value: Value
    init(_ value: Value) { self.value = value }
}
