/// The tunables of `WTinyLFUPolicy`; the defaults are the measured choice.
public struct WTinyLFUConfiguration: Sendable, Equatable {
    /// The admission window's initial share of the capacity.
    public var initialWindow = 0.01
    /// The protected segment's share of the main region.
    public var protectedShare = 0.8
    /// Whether hill climbing resizes the window.
    public var adaptive = true
    /// Requests per climbing step, as a multiple of the sketch width (about
    /// the number of entries the cache holds).
    public var climbSampleFactor = 10.0
    /// The first and restart step, as a share of the capacity.
    public var stepShare = 0.0625
    public var stepDecay = 0.98
    /// A hit-ratio change this large restarts climbing with a full step.
    public var restartThreshold = 0.05
    /// A Bloom filter absorbing each key's first sighting.
    public var doorkeeper = true
    /// At most this many victims are weighed against one candidate; a
    /// candidate that would displace more is refused.
    public var maxVictims = 256

    public init() {}
}
