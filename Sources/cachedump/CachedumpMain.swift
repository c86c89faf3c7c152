import ArgumentParser

/// `cachedump`: inspect, verify and export a Capuchin cache store, live or offline.
@main
struct Cachedump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cachedump",
        abstract: "Inspect, verify and export a Capuchin cache store (safe while the server runs).",
        discussion: """
        Every subcommand takes the cache directory (the server's cache.dir). Reading
        never blocks the server: LMDB readers do not wait for its writer. Only purge
        and reset write, and only with --write.
        Exit status: 0 success; 1 verify found stale entries; 2 an error (named on stderr).
        """,
        subcommands: [Stat.self, List.self, Get.self, Verify.self, Top.self, Export.self, Purge.self, Reset.self]
    )
}
