import ArgumentParser
import CacheStore
import Foundation

/// Options every subcommand shares.
struct StoreArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir"))
    var directory: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    /// Opens the store read-only. Exits 2 with the path and LMDB's message on failure.
    func openReadOnly() throws -> CacheStore {
        var o = StoreOptions()
        o.readOnly = true
        return try openStore(directory, o)
    }
}

func openStore(_ directory: String, _ options: StoreOptions) throws -> CacheStore {
    do {
        return try CacheStore(directory: directory, options: options)
    } catch {
        fail("\(error)")
    }
}

/// Prints `message` to stderr and exits 2.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cachedump: \(message)\n".utf8))
    Foundation.exit(2)
}

/// Runs `body`, turning a thrown store error into exit 2 with its message.
func guarded<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { fail("\(error)") }
}

func printJSON(_ object: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
    print(String(decoding: data, as: UTF8.self))
}

func nowNanos() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

func isoTime(_ nanos: Int64) -> String {
    nanos == 0 ? "-" : ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(nanos) / 1e9))
}

func ageText(_ nanos: Int64) -> String {
    guard nanos > 0 else { return "-" }
    let s = max(0, (nowNanos() - nanos) / 1_000_000_000)
    if s < 120 { return "\(s)s" }
    if s < 7200 { return "\(s / 60)m" }
    if s < 172_800 { return "\(s / 3600)h" }
    return "\(s / 86400)d"
}

extension EntryRecord {
    var kindName: String {
        switch kind {
        case .file: return "file"
        case .proxied: return "proxied"
        case .variant: return "variant"
        }
    }

    /// A variant also shows its coding and its source's path and size.
    var jsonObject: [String: Any] {
        var o = fields
        if kind == .variant, let x = VariantExtra(extra) {
            o["coding"] = x.coding
            o["source_path"] = x.sourcePath
            o["source_size"] = x.source.size
        }
        return o
    }

    private var fields: [String: Any] {
        ["key": key, "kind": kindName, "origin_path": originPath, "device": device, "inode": inode,
         "size": size, "mtime_ns": mtimeNanos, "content_type": contentType, "etag": etag, "inserted_ns": insertedAtNanos,
         "last_access_ns": lastAccessNanos, "hits": accessCount, "policy_state": policyState, "policy_sequence": policySequence,
         "extra_bytes": extra.count, "tags": tags, "soft_purged_ns": softPurgedAtNanos]
    }
}

/// How `list` and `top` order entries.
enum EntryOrder: String, ExpressibleByArgument, CaseIterable {
    case hits, size, age, recent, key

    func sort(_ rows: inout [EntryRecord]) {
        switch self {
        case .hits: rows.sort { ($0.accessCount, $1.key) > ($1.accessCount, $0.key) }
        case .size: rows.sort { ($0.size, $1.key) > ($1.size, $0.key) }
        case .age: rows.sort { ($0.insertedAtNanos, $0.key) < ($1.insertedAtNanos, $1.key) }
        case .recent: rows.sort { ($0.lastAccessNanos, $1.key) > ($1.lastAccessNanos, $0.key) }
        case .key: rows.sort { $0.key < $1.key }
        }
    }
}

func printTable(_ rows: [EntryRecord]) {
    print("HITS".padding(toLength: 10, withPad: " ", startingAt: 0) + "SIZE".padding(toLength: 12, withPad: " ", startingAt: 0)
          + "AGE".padding(toLength: 7, withPad: " ", startingAt: 0) + "LAST".padding(toLength: 7, withPad: " ", startingAt: 0) + "KEY")
    for r in rows {
        print(String(r.accessCount).padding(toLength: 10, withPad: " ", startingAt: 0)
              + String(r.size).padding(toLength: 12, withPad: " ", startingAt: 0)
              + ageText(r.insertedAtNanos).padding(toLength: 7, withPad: " ", startingAt: 0)
              + ageText(r.lastAccessNanos).padding(toLength: 7, withPad: " ", startingAt: 0) + VariantExtra.displayKey(r.key))
    }
}
