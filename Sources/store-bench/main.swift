// Benchmark of the LMDB cache store (not a test): batched touches absorbed per
// second and the writer's CPU, point lookups from one and two threads, time to
// load a 100,000-entry index, and the store's size on disk.
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

// Fill: 100,000 entries with realistic keys and paths.
var t0 = Date()
for i in 0..<n {
    store.enqueue(.put(EntryRecord(key: "www.example.com/assets/\(i % 97)/file-\(i).html", originPath: "/srv/www/assets/\(i % 97)/file-\(i).html",
                                   device: 2049, inode: UInt64(1_000_000 + i), size: Int64(1024 + i % 65536), mtimeNanos: 1_700_000_000_000_000_000,
                                   contentType: "text/html; charset=utf-8", etag: "\"\(String(i, radix: 16))-400\"",
                                   insertedAtNanos: 1, lastAccessNanos: 1, accessCount: 1, policyState: 1, policySequence: UInt64(i))))
}
try store.flush()
print(String(format: "fill:            %d entries in %.2f s", n, Date().timeIntervalSince(t0)))

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
