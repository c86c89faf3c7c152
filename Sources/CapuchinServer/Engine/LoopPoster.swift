/// Hands a task to one worker's loop from any thread: the task runs on that
/// worker's thread at its next wake-up, in posting order. Tasks posted after
/// the worker stopped never run (its connections are closed by then).
public struct LoopPoster: Sendable {
    let mailbox: WorkerMailbox

    public func post(_ task: @escaping @Sendable () -> Void) { mailbox.post(task: task) }
}
