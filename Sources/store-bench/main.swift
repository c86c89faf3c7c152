// Benchmark of the LMDB cache store (not a test): stats() and prefix lookups at
// 60,000 entries, batched touches absorbed per second and the writer's CPU,
// point lookups from one and two threads, time to load a 100,000-entry index,
// and the store's size on disk.
// usage: store-bench [DIR]   (run by Tools/store-bench/run.sh in release)
import CacheStore
import Foundation
import Glibc

func cpuSeconds(_ who: Int32) -> Double {
    var u = rusage()
    getrusage(who, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

let RUSAGE_THREAD_: Int32 = 1
let dir = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory() + "store-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: dir)
let n = 100_000
var options = StoreOptions()
options.commitIntervalMillis = 100
let store = try CacheStore(directory: dir, options: options)

func key(_ i: Int) -> String { "www.example.com/assets/\(i % 97)/file-\(i).html" }

/// Median and 99th percentile of `body`'s wall time in microseconds over `runs` calls.
func latency(runs: Int, _ body: (Int) throws -> Void) rethrows -> (median: Double, p99: Double) {
    var times: [Double] = []
    times.reserveCapacity(runs)
    for r in 0..<runs {
        let start = ContinuousClock.now
        try body(r)
        let d = start.duration(to: .now).components
        times.append(Double(d.seconds) * 1e6 + Double(d.attoseconds) / 1e12)
    }
    times.sort()
    return (times[runs / 2], times[runs * 99 / 100])
}

func fill(_ range: Range<Int>) {
    for i in range {
        store.enqueue(.put(EntryRecord(key: key(i), originPath: "/srv/www/assets/\(i % 97)/file-\(i).html",
                                   device: 2049, inode: UInt64(1_000_000 + i), size: Int64(1024 + i % 65536), mtimeNanos: 1_700_000_000_000_000_000,
                                   contentType: "text/html; charset=utf-8", etag: "\"\(String(i, radix: 16))-400\"",
                                   insertedAtNanos: 1, lastAccessNanos: 1, accessCount: 1, policyState: 1, policySequence: UInt64(i))))
    }
}

// 0. At 60,000 entries: stats() (what GET /api/stats reads) and prefix lookups.
let atStats = 60_000
var t0 = Date()
fill(0..<atStats)
try store.flush()
print(String(format: "fill:            %d entries in %.2f s", atStats, Date().timeIntervalSince(t0)))
var l = try latency(runs: 2000) { _ in
    let s = try store.stats()
    precondition(s.entries == atStats)
}
print(String(format: "stats():         median %.1f us, p99 %.1f us at %d entries", l.median, l.p99, atStats))
l = try latency(runs: 20_000) { r in
    let i = (r &* 7919) % atStats
    let found = try store.entries(prefix: String(key(i).dropLast(4)))
    precondition(found.count == 1)
}
print(String(format: "prefix lookup:   median %.1f us, p99 %.1f us (one key's prefix, as the proxy's variants) at %d entries", l.median, l.p99, atStats))
l = try latency(runs: 50) { _ in _ = try store.countTotals() }
print(String(format: "full count:      median %.1f us (what stats() did before totals were kept)", l.median))
l = try latency(runs: 20) { r in
    let p = String(key(r).dropLast(4))
    var found = 0
    try store.forEachEntry { if case .success(let e) = $0, e.key.hasPrefix(p) { found += 1 }; return true }
    precondition(found == 1)
}
print(String(format: "full-scan lookup: median %.1f us (what a prefix lookup did before it seeked)", l.median))
l = try latency(runs: 500) { r in _ = try store.entries(prefix: "www.example.com/assets/\(r % 97)/") }
print(String(format: "prefix listing:  median %.1f us, p99 %.1f us (one directory, ~%d entries) at %d entries", l.median, l.p99, atStats / 97, atStats))

// Fill up to 100,000 entries.
t0 = Date()
fill(atStats..<n)
try store.flush()
print(String(format: "fill:            %d more entries in %.2f s", n - atStats, Date().timeIntervalSince(t0)))

// 1. Touches absorbed per second, with 100 ms commits.
for (label, hot) in [("uniform over 100k keys", n), ("hot set of 10k keys", 10_000)] {
    let keys = (0..<hot).map { "www.example.com/assets/\($0 % 97)/file-\($0).html" }
    let selfBefore = cpuSeconds(RUSAGE_SELF.rawValue)
    let producerBefore = cpuSeconds(RUSAGE_THREAD_)
    t0 = Date()
    var count = 0
    var x: UInt64 = 88172645463325252
    while Date().timeIntervalSince(t0) < 3 {
        for _ in 0..<1000 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            store.enqueue(.touch(key: keys[Int(x % UInt64(hot))], hits: 1, lastAccessNanos: 2, policyState: 3, policySequence: x))
        }
        count += 1000
    }
    let enqueueSeconds = Date().timeIntervalSince(t0)
    let producer = cpuSeconds(RUSAGE_THREAD_) - producerBefore
    try store.flush()
    let total = Date().timeIntervalSince(t0)
    let writerCPU = (cpuSeconds(RUSAGE_SELF.rawValue) - selfBefore) - producer
    print(String(format: "touches (%@): %.2f M/s enqueued by one thread, all committed after %.2f s; writer CPU %.0f%% of one core",
                 label, Double(count) / enqueueSeconds / 1e6, total, 100 * writerCPU / total))
}

// 2. Point lookups from one and two threads.
for threads in [1, 2] {
    let perThread = 300_000
    t0 = Date()
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        var x = UInt64(t + 1) * 2654435761
        for _ in 0..<perThread {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let i = Int(x % UInt64(n))
            _ = try? store.get("www.example.com/assets/\(i % 97)/file-\(i).html")
        }
    }
    print(String(format: "lookups:         %.2f M/s with %d thread(s)", Double(perThread * threads) / Date().timeIntervalSince(t0) / 1e6, threads))
}

// 3. Loading the whole index into memory.
var best = Double.infinity
for _ in 0..<3 {
    t0 = Date()
    let all = try store.entries()
    precondition(all.count == n)
    best = min(best, Date().timeIntervalSince(t0))
}
print(String(format: "load index:      %d entries in %.0f ms (best of 3)", n, best * 1000))

// 4. Size on disk.
var st = stat()
stat(dir + "/data.mdb", &st)
print(String(format: "size on disk:    %.1f MiB for %d entries (%.0f bytes each; file length %.1f MiB, sparse map)",
             Double(st.st_blocks) * 512 / 1_048_576, n, Double(st.st_blocks) * 512 / Double(n), Double(st.st_size) / 1_048_576))
store.close()
try? FileManager.default.removeItem(atPath: dir)
