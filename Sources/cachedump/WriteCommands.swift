import ArgumentParser
import CacheStore
import Foundation

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove (or with --soft mark stale) one entry, every entry under a prefix, or every entry with a tag (needs --write).",
        discussion: "Safe while the server runs: LMDB serialises writers across processes. The server's in-memory index drops purged entries on their next revalidation; purge through the admin API to drop them at once. A soft purge keeps an entry but marks it stale: the proxy revalidates it on its next request and serves it if the origin fails.")
    @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir")) var directory: String
    @Argument(help: "The key to remove (or use --prefix, --tag).") var key: String?
    @Option(help: "Remove every key starting with this.") var prefix: String?
    @Option(name: .customLong("tag"), help: "Remove every entry with this cache tag (repeatable; commas separate several).") var tagOptions: [String] = []
    @Flag(help: "Mark the entries stale instead of removing them (soft purge).") var soft = false
    @Flag(help: "Actually write (purge changes the store).") var write = false
    @Flag(name: .customLong("dry-run"), help: "List what would be removed; change nothing.") var dryRun = false
    @Flag(help: "Print JSON.") var json = false

    var tags: [String] {
        var out: [String] = []
        for t in tagOptions.flatMap({ $0.split(separator: ",") }) {
            let tag = t.trimmingCharacters(in: .whitespaces)
            if !tag.isEmpty && !out.contains(tag) { out.append(tag) }
        }
        return out
    }

    func validate() throws {
        let given = [key != nil, prefix != nil, !tagOptions.isEmpty].filter { $0 }.count
        if given != 1 { throw ValidationError("give a KEY, --prefix P or --tag T (one of them)") }
        if prefix == "" { throw ValidationError("--prefix must not be empty (use `cachedump reset` to empty the store)") }
        if !tagOptions.isEmpty && tags.isEmpty { throw ValidationError("--tag must not be empty") }
    }

    func run() throws {
        if !write && !dryRun { fail("purge changes the store: add --write (or --dry-run to see what it would remove)") }
        var ro = StoreOptions()
        ro.readOnly = true
        let victims: [String] = guarded {
            let s = try openStore(directory, ro)
            if let key { return try s.get(key) == nil ? [] : [key] }
            if !tagOptions.isEmpty { return try s.keys(taggedWith: tags) }
            return try s.entries(prefix: prefix).map(\.key)
        }
        if !dryRun {
            let s = try openStore(directory, StoreOptions())
            // One transaction: all of it or (a crash) none.
            if soft {
                let at = nowNanos()
                s.enqueue(contentsOf: victims.map { .softPurge(key: $0, atNanos: at) })
            } else if let prefix {
                s.enqueue(.removePrefix(prefix))
            } else {
                s.enqueue(contentsOf: victims.map { .remove(key: $0) })
            }
            guarded { try s.flush() }
            s.close()
        }
        let verb = soft ? "soft-purge" : "remove"
        if json {
            printJSON([soft ? "soft_purged" : "removed": dryRun ? 0 : victims.count, "would_\(verb.replacingOccurrences(of: "-", with: "_"))": victims,
                       "dry_run": dryRun])
            return
        }
        let past = soft ? "soft-purged" : "removed"
        for v in victims { print((dryRun ? "would \(verb) " : "\(past) ") + v) }
        print("\(victims.count) entr\(victims.count == 1 ? "y" : "ies") \(dryRun ? "would be \(past)" : past)")
    }
}

struct Reset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move the store aside (DIR.old-<time>) so the server starts empty: the way out of a schema mismatch (needs --write).")
    @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir")) var directory: String
    @Flag(help: "Actually move it.") var write = false

    func run() throws {
        guard write else { fail("reset moves \(directory) aside: add --write") }
        guard FileManager.default.fileExists(atPath: directory) else { fail("\(directory): no such cache directory") }
        let aside = guarded { try CacheStore.moveAside(directory) }
        print("moved \(directory) to \(aside); the next start begins with an empty cache")
    }
}
