import ArgumentParser
import CacheStore
import Foundation

struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Entries, bytes, map size and use, pages, readers, last commit, schema.")
    @OptionGroup var store: StoreArguments

    func run() throws {
        let s = guarded { try store.openReadOnly().stats() }
        if store.json {
            printJSON(["entries": s.entries, "bytes": s.bytes, "map_size": s.mapSize, "map_used": s.mapUsed, "page_size": s.pageSize,
                       "branch_pages": s.branchPages, "leaf_pages": s.leafPages, "overflow_pages": s.overflowPages, "depth": s.depth,
                       "readers": s.readers, "max_readers": s.maxReaders, "last_commit_ns": s.lastCommitNanos,
                       "created_ns": s.createdNanos, "schema_version": s.schemaVersion])
            return
        }
        print("""
        entries:        \(s.entries)
        bytes cached:   \(s.bytes)
        map size:       \(s.mapSize)
        map used:       \(s.mapUsed) (\(s.mapSize == 0 ? 0 : s.mapUsed * 100 / s.mapSize)%)
        pages:          \(s.branchPages) branch, \(s.leafPages) leaf, \(s.overflowPages) overflow, depth \(s.depth) (page size \(s.pageSize))
        readers:        \(s.readers) of \(s.maxReaders)
        last commit:    \(isoTime(s.lastCommitNanos))
        created:        \(isoTime(s.createdNanos))
        schema version: \(s.schemaVersion)
        """)
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Entries with key, size, hits, age and last access.")
    @OptionGroup var store: StoreArguments
    @Option(help: "Only keys starting with this.") var prefix: String?
    @Option(help: "hits, size, age (oldest first), recent or key.") var sort: EntryOrder = .key
    @Option(help: "At most this many entries.") var limit: Int?

    func run() throws {
        var rows = guarded { try store.openReadOnly().entries(prefix: prefix) }
        sort.sort(&rows)
        if let limit { rows = Array(rows.prefix(max(0, limit))) }
        if store.json { printJSON(rows.map(\.jsonObject)) } else { printTable(rows) }
    }
}

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The N hottest entries by hits.")
    @Argument(help: "How many.") var count: Int = 10
    @OptionGroup var store: StoreArguments

    func run() throws {
        let rows = guarded { try store.openReadOnly().mostHit(count) }
        if store.json { printJSON(rows.map(\.jsonObject)) } else { printTable(rows) }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One record in full.")
    @OptionGroup var store: StoreArguments
    @Argument(help: "The cache key.") var key: String

    func run() throws {
        guard let r = guarded({ try store.openReadOnly().get(key) }) else { fail("\(store.directory): no entry \(key.debugDescription)") }
        if store.json { printJSON(r.jsonObject); return }
        for (k, v) in r.jsonObject.sorted(by: { $0.key < $1.key }) { print("\(k): \(v)") }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every record as NDJSON (one JSON object per line).")
    @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir")) var directory: String

    func run() throws {
        var o = StoreOptions()
        o.readOnly = true
        let s = try openStore(directory, o)
        var bad = 0
        guarded {
            try s.forEachEntry { result in
                switch result {
                case .success(let r): printJSON(r.jsonObject)
                case .failure(let e):
                    bad += 1
                    FileHandle.standardError.write(Data("cachedump: \(e)\n".utf8))
                }
                return true
            }
        }
        if bad > 0 { throw ExitCode(2) }
    }
}
