import CapuchinSystem
import Synchronization

/// Where a reload publishes the new settings. Workers compare the generation
/// (one relaxed atomic load, off the request path) and copy the snapshot when it moved.
final class SettingsStore: Sendable {
    private let current: Lock<RuntimeSettings>
    private let generationCounter = Atomic<Int>(0)

    init(_ initial: RuntimeSettings) { current = Lock(initial) }

    var generation: Int { generationCounter.load(ordering: .acquiring) }

    func snapshot() -> (RuntimeSettings, Int) {
        current.withLock { ($0, generationCounter.load(ordering: .relaxed)) }
    }

    func publish(_ s: RuntimeSettings) {
        current.withLock { c in
            c = s
            generationCounter.add(1, ordering: .releasing)
        }
    }
}
