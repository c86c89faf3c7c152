/// Per-entry policy state, persisted in the store so popularity survives restarts.
public struct PolicyEntryState: Sendable, Equatable {
    /// Policy-specific: a frequency, a queue id with bits, ...
    public var word: UInt64
    /// Policy-specific order: a recency or insertion stamp.
    public var sequence: UInt64

    public init(word: UInt64, sequence: UInt64) {
        self.word = word
        self.sequence = sequence
    }
}
