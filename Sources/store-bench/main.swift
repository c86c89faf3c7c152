// Benchmark of the LMDB cache store (not a test): batched touches absorbed per
// second and the writer's CPU, point lookups from one and two threads, time to
// load a 100,000-entry index, and the store's size on disk.
// usage: store-bench [DIR]   (run by Tools/store-bench/run.sh in release)
import CacheStore
import CapuchinSystem
import Foundation

let dir = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory() + "store-bench-\(ProcessInfo.processInfo.processIdentifier)"
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
    let selfBefore = Clock.processCPUSeconds()
    let producerBefore = Clock.threadCPUSeconds()
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
    let producer = Clock.threadCPUSeconds() - producerBefore
    try store.flush()
    let total = Date().timeIntervalSince(t0)
    let writerCPU = (Clock.processCPUSeconds() - selfBefore) - producer
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
let onDisk = Double(FileSystem.allocatedBytes(dir + "/data.mdb") ?? 0)
let length = Double((try? statPath(dir + "/data.mdb"))?.size ?? 0)
print(String(format: "size on disk:    %.1f MiB for %d entries (%.0f bytes each; file length %.1f MiB, sparse map)",
             onDisk / 1_048_576, n, onDisk / Double(n), length / 1_048_576))
store.close()
try? FileManager.default.removeItem(atPath: dir)
