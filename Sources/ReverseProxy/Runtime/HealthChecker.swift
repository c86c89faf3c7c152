import CapuchinServer
import CapuchinSystem

/// Active health checks of one pool, on one worker's event loop: every
/// `interval` each backend gets `GET path` on a fresh connection; the status
/// line decides. `fall` failures in a row mark the backend unhealthy, `rise`
/// successes in a row healthy again (and clear a passive mark, so a backend
/// that recovered takes traffic before its fail_timeout ends). Worker-thread only.
final class HealthChecker {
    let runtime: PoolRuntime
    let config: HealthCheckConfig
    private let loop: EventLoop
    private let log: (String) -> Void
    private var probes: [HealthProbe] = []
    private var timer: TimerHandle?
    private var stopped = false

    init(runtime: PoolRuntime, config: HealthCheckConfig, loop: EventLoop, log: @escaping (String) -> Void) {
        self.runtime = runtime
        self.config = config
        self.loop = loop
        self.log = log
        probes = runtime.pool.backends.indices.map { HealthProbe(backend: $0) }
    }

    func start() { round() }

    func stop() {
        stopped = true
        timer?.cancel()
        for p in probes { p.cancel() }
    }

    private func round() {
        guard !stopped else { return }
        for p in probes where !p.isRunning && !runtime.pool.backends[p.backend].isSelf {
            run(p)
        }
        timer = loop.schedule(after: config.intervalNanos) { [weak self] in self?.round() }
    }

    private func run(_ p: HealthProbe) {
        let b = runtime.pool.backends[p.backend]
        guard let host = runtime.resolvedHosts[p.backend] else { return record(p, ok: false, why: "host does not resolve") }
        let request = Array("GET \(config.path) HTTP/1.1\r\nHost: \(b.address)\r\nUser-Agent: capuchin-health-check\r\nConnection: close\r\n\r\n".utf8)
        p.begin(loop: loop, host: host, port: b.address.port, tls: runtime.pool.config.tls, serverName: b.address.host,
                request: request, timeoutNanos: config.timeoutNanos) { [weak self] status, why in
            guard let self, !self.stopped else { return }
            if let status, self.config.expectStatus.contains(status) {
                self.record(p, ok: true, why: "")
            } else {
                self.record(p, ok: false, why: status.map { "status \($0)" } ?? why)
            }
        }
    }

    private func record(_ p: HealthProbe, ok: Bool, why: String) {
        let b = runtime.pool.backends[p.backend]
        b.countCheck(passed: ok)
        if ok {
            p.successesInARow += 1
            p.failuresInARow = 0
            if !b.isHealthy && p.successesInARow >= config.rise {
                b.setHealthy(true)
                b.markUp()
                log("proxy: pool \(runtime.pool.name): backend \(b.address) is healthy again (\(config.rise) check(s) passed)")
            }
        } else {
            p.failuresInARow += 1
            p.successesInARow = 0
            if b.isHealthy && p.failuresInARow >= config.fall {
                b.setHealthy(false)
                log("proxy: pool \(runtime.pool.name): backend \(b.address) is unhealthy (\(config.fall) check(s) failed, last: \(why))")
            }
        }
    }
}
