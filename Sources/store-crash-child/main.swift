// Applies store batches in a loop until killed: the crash test's child.
// usage: store-crash-child STORE_DIR FILES_DIR
// Each batch b puts 20 records "b<b>-<i>" (their origin files exist in FILES_DIR)
// tagged "batch-<b>" and "even"/"odd", and bumps the counter "batches", all enqueued at once so they commit together;
// it also rewrites a record of the batch before, removes an absent key and
// removes the batch 3 back by prefix (the entry totals follow all of them).
// usage: store-crash-child --hold-reader STORE_DIR
// Opens the store read-only, prints "reading" inside a read transaction and
// sleeps there until killed: the stale reader slot of the fault tests.
import CacheStore
import CapuchinSystem
import Foundation

let args = CommandLine.arguments
if args.count == 3 && args[1] == "--hold-reader" {
    var o = StoreOptions()
    o.readOnly = true
    let store = try CacheStore(directory: args[2], options: o)
    try store.forEachEntry { _ in
        print("reading")
        fflush(stdout)
        while true { sleep(60) }
    }
    exit(3) // an empty store: nothing to hold a reader inside
}
guard args.count == 3 else {
    FileHandle.standardError.write(Data("usage: store-crash-child STORE_DIR FILES_DIR | --hold-reader STORE_DIR\n".utf8))
    exit(2)
}
let files = args[2]
var options = StoreOptions()
options.commitIntervalMillis = 5
options.mapSize = 1 << 20 // small, so growth happens under the kills too
let store = try CacheStore(directory: args[1], options: options, log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
let start = (try? store.counter("batches")) ?? 0
var b = start
while true {
    b += 1
    var ops: [StoreOperation] = []
    for i in 0..<20 {
        let path = "\(files)/f\(i)"
        let id = try statPath(path)
        var r = EntryRecord(key: "b\(b)-\(i)", originPath: path, device: id.device, inode: id.inode,
                            size: Int64(id.size), mtimeNanos: id.mtimeNanos)
        r.extra = Array(String(b).utf8)
        // Tags: the tag index must agree with the records after every kill.
        r.tags = ["batch-\(b)", i % 2 == 0 ? "even" : "odd"]
        ops.append(.put(r))
    }
    ops.append(.addCounter(name: "batches", delta: 1))
    if b > 3 { ops.append(.removePrefix("b\(b - 3)-")) }
    if b > start + 1, case .put(var again) = ops[0] {
        again.key = "b\(b - 1)-0"
        again.extra = Array(String(b - 1).utf8)
        again.tags = ["batch-\(b - 1)", "rewritten"] // a replace changes the indexed tags
        ops.append(.put(again))
    }
    ops.append(.remove(key: "absent-\(b)"))
    store.enqueue(contentsOf: ops)
    if b % 5 == 0 { usleep(1000) }
}
