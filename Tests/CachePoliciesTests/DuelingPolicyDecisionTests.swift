import XCTest
@testable import CachePolicies

final class DuelingPolicyDecisionTests: XCTestCase {
    /// A duel of three candidates, W-TinyLFU serving, at the end of an epoch of
    /// 100 sampled requests in which each hit `hits` (in objects and bytes
    /// alike), with these quick and slow scores from the epochs before.
    private func duel(hits: [Int], scores: [Double], slowScores: [Double]) -> DuelingPolicy {
        let p = DuelingPolicy(capacity: 1_000, candidates: [.wtinylfu, .s3fifo, .segmentedTinyLFU])
        p.epochs = 5
        p.sampled = 100
        p.sampledBytes = 100
        p.hits = hits
        p.hitBytes = hits
        p.scores = scores
        p.slowScores = slowScores
        return p
    }

    /// Two candidates lead the serving one: the one that has led longest (the
    /// slow score) takes over, not the one the last epochs favour.
    func testTheCandidateThatHasLedLongestTakesOver() {
        let p = duel(hits: [50, 60, 58], scores: [0.5, 0.6, 0.58], slowScores: [0.5, 0.55, 0.57])
        XCTAssertEqual(p.closeEpoch(), 2, "segmented TinyLFU: second on the quick score, first on the slow one")
        XCTAssertGreaterThan(p.scores[1], p.scores[2])
    }

    /// The slow leader must also lead the serving candidate on the quick
    /// score by the margin; a quick leader alone does not take over.
    func testTheSlowLeaderMustAlsoLeadNow() {
        let p = duel(hits: [50, 70, 50], scores: [0.5, 0.6, 0.5], slowScores: [0.5, 0.4, 0.6])
        XCTAssertNil(p.closeEpoch())
        XCTAssertEqual(p.active, .wtinylfu)
    }
}
