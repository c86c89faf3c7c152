import ArgumentParser

/// `capuchin`: the server and its tools. Other subcommands (`simulate`,
/// `proxy`) are added to `subcommands` by the helpers that write them.
struct Capuchin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capuchin",
        abstract: "A Linux HTTP/1.1 server with a file cache that survives restarts.",
        version: Version.text,
        subcommands: [ServeCommand.self, CheckCommand.self, Simulate.self, ProxyCommand.self],
        defaultSubcommand: nil
    )
}

Capuchin.main()
