import ArgumentParser
import CacheStore
import Foundation

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove one entry, or every entry under a prefix (needs --write).",
        discussion: "Safe while the server runs: LMDB serialises writers across processes. The server's in-memory index drops purged entries on their next revalidation; purge through the admin API to drop them at once.")
    @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir")) var directory: String
    @Argument(help: "The key to remove (or use --prefix).") var key: String?
    @Option(help: "Remove every key starting with this.") var prefix: String?
    @Flag(help: "Actually write (purge changes the store).") var write = false
    @Flag(name: .customLong("dry-run"), help: "List what would be removed; change nothing.") var dryRun = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if (key == nil) == (prefix == nil) { throw ValidationError("give a KEY or --prefix P (one of them)") }
        if prefix == "" { throw ValidationError("--prefix must not be empty (use `cachedump reset` to empty the store)") }
    }

    func run() throws {
        if !write && !dryRun { fail("purge changes the store: add --write (or --dry-run to see what it would remove)") }
        var ro = StoreOptions()
        ro.readOnly = true
        let victims: [String] = guarded {
            let s = try openStore(directory, ro)
            if let key { return try s.get(key) == nil ? [] : [key] }
            return try s.entries(prefix: prefix).map(\.key)
        }
        if !dryRun {
            let s = try openStore(directory, StoreOptions())
            if let key { s.enqueue(.remove(key: key)) } else if let prefix { s.enqueue(.removePrefix(prefix)) }
            guarded { try s.flush() }
            s.close()
        }
        if json { printJSON(["removed": dryRun ? 0 : victims.count, "would_remove": victims, "dry_run": dryRun]); return }
        for v in victims { print((dryRun ? "would remove " : "removed ") + v) }
        print("\(victims.count) entr\(victims.count == 1 ? "y" : "ies") \(dryRun ? "would be removed" : "removed")")
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
