import CapuchinServer

/// Active health checks of a pool's backends (`pools.NAME.health_check`): a
/// `GET path` to each backend every `interval`; `fall` failed checks in a row
/// take a backend out, `rise` good ones in a row put it back. A check fails
/// when the connection fails, no status line arrives within `timeout`, or the
/// status is not in `expect_status`.
public struct HealthCheckConfig: Sendable, Equatable {
    public var path: String
    public var intervalNanos: UInt64
    public var timeoutNanos: UInt64
    /// Accepted statuses (default 200-399).
    public var expectStatus: Set<Int>
    public var rise: Int
    public var fall: Int

    public init(path: String = "/", intervalNanos: UInt64 = 5_000_000_000, timeoutNanos: UInt64 = 2_000_000_000,
                expectStatus: Set<Int> = Set(200..<400), rise: Int = 2, fall: Int = 3) {
        self.path = path
        self.intervalNanos = intervalNanos
        self.timeoutNanos = timeoutNanos
        self.expectStatus = expectStatus
        self.rise = rise
        self.fall = fall
    }

    /// Reads `health_check` (every key read; the caller calls `finish()`).
    init(section s: ConfigSection) throws {
        let d = HealthCheckConfig()
        let path = try s.string("path", default: d.path)
        guard path.hasPrefix("/"), path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw s.error("path", "expected an origin-form path such as /healthz (no spaces)")
        }
        var statuses = Set<Int>()
        for text in try s.stringList("expect_status", default: ["2xx", "3xx"]) {
            if let n = Int(text), (100...599).contains(n) {
                statuses.insert(n)
            } else if text.count == 3, text.hasSuffix("xx"), let c = Int(text.prefix(1)), (1...5).contains(c) {
                statuses.formUnion(c * 100..<(c + 1) * 100)
            } else {
                throw s.error("expect_status", "expected statuses such as 200 or classes such as 2xx, got \(text)")
            }
        }
        let interval = try s.duration("interval", default: 5, range: 0.01...86400)
        let timeout = try s.duration("timeout", default: 2, range: 0.001...3600)
        if timeout > interval { throw s.error("timeout", "must not exceed interval (\(interval)s)") }
        self.init(path: path, intervalNanos: UInt64(interval * 1e9), timeoutNanos: UInt64(timeout * 1e9),
                  expectStatus: statuses, rise: try s.int("rise", default: d.rise, range: 1...100),
                  fall: try s.int("fall", default: d.fall, range: 1...100))
    }
}
