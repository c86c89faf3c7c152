/// The tunables of `WTinyLFUPolicy`; the defaults are the measured choice.
public struct WTinyLFUConfiguration: Sendable, Equatable {
    /// The admission window's initial share of the capacity.
    public var initialWindow = 0.01
    /// The protected segment's share of the main region.
    public var protectedShare = 0.8
    /// How the window's share of the capacity follows the workload.
    public enum Adaptation: Sendable, Equatable {
        case fixed
        /// Caffeine's hill climber: sample the hit ratio, step the window size
        /// in the direction that improved it.
        case hillClimbing
        /// As ARC does: keys recently evicted from the window and from main
        /// are remembered (ghosts); a miss on a window ghost grows the window,
        /// a miss on a main ghost shrinks it.
        case ghosts
    }

    public var adaptation = Adaptation.ghosts
    /// Each ghost list holds keys of at most this share of the capacity.
    public var ghostShare = 2.0
    /// Scales each ghost-driven window step.
    public var ghostGain = 1.0
    /// Step by the mean resident size instead of the requested entry's size.
    public var ghostStepByMeanSize = true
    /// Scales shrinking steps relative to growing ones.
    public var shrinkGain = 1.0
    /// Requests per climbing step, as a multiple of the sketch width (about
    /// the number of entries the cache holds).
    public var climbSampleFactor = 10.0
    /// The first and restart step, as a share of the capacity.
    public var stepShare = 0.0625
    public var stepDecay = 0.98
    /// A hit-ratio change this large restarts climbing with a full step.
    public var restartThreshold = 0.05
    /// A Bloom filter absorbing each key's first sighting.
    public var doorkeeper = false
    /// At most this many victims are weighed against one candidate; a
    /// candidate that would displace more is refused.
    public var maxVictims = 256
    /// Entries larger than this share of the capacity (and than one unit) are
    /// not admitted once the cache is full: on object hit ratio one huge entry
    /// costs hundreds of hits. While it has room they are (they displace nothing).
    public var largestShare = 0.02
    /// Each victim counts at least this much against a candidate, so even
    /// forgotten entries make a large candidate pay for each one it displaces.
    public var victimFloor = 0
    /// Sketch counters per cache entry, in units of 16 (one 64-bit word).
    public var sketchScale = 2
    /// Sketch additions between halvings, per 64-bit counter word.
    public var sketchSample = 10
    /// A new entry larger than this share of the window skips the window and
    /// must win admission at once.
    public var windowBypass = 1.0

    public init() {}

    /// The window stays at `initialWindow`: the ghost-driven window can grow
    /// into a plain LRU on looping disk traces (ARC P3) and not come back.
    public static var fixedWindow: WTinyLFUConfiguration {
        var c = WTinyLFUConfiguration()
        c.adaptation = .fixed
        return c
    }
}
