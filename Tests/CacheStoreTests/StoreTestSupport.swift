import Foundation
@testable import CacheStore

/// A fresh temporary directory per test, removed afterwards.
func makeTempDir(_ name: String = "store") -> String {
    let dir = NSTemporaryDirectory() + "capuchin-\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func record(_ key: String, size: Int64 = 100, hits: UInt64 = 0, path: String = "/nonexistent") -> EntryRecord {
    EntryRecord(key: key, kind: .file, originPath: path, device: 1, inode: 42, size: size, mtimeNanos: 1_700_000_000_123_456_789,
                contentType: "text/html", etag: "\"abc\"", insertedAtNanos: 5, lastAccessNanos: 6, accessCount: hits,
                policyState: 7, policySequence: 8, extra: [1, 2, 3])
}

func fastOptions() -> StoreOptions {
    var o = StoreOptions()
    o.commitIntervalMillis = 10
    o.mapSize = 16 << 20
    return o
}
