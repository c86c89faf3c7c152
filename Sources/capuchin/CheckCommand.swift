import CapuchinSystem
import ArgumentParser
import CapuchinServer

/// `capuchin check --config FILE`: validates everything `serve` would (as
/// `nginx -t`), printing every error as FILE:LINE: KEY: message. Exit 0: it
/// would start; 2: it would not.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file as `serve` would, without starting (exit 0 or 2).",
        discussion: "Checks YAML, keys, types, plugin sections, paths (site roots, logs, state directory), server.user and that the ports are free."
    )

    @Option(name: .long, help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var config: String

    func run() throws {
        throw ExitCode(Self.report(ConfigCheck.run(path: config, plugins: PluginCatalog.validators), file: config))
    }

    /// Prints the errors (stderr) or the all-clear (stdout); returns the exit status.
    static func report(_ errors: [ConfigError], file: String) -> Int32 {
        if errors.isEmpty {
            print("\(file): configuration OK")
            return 0
        }
        for e in errors { printError("\(e)") }
        printError("\(file): \(errors.count) error\(errors.count == 1 ? "" : "s")")
        return 2
    }
}

/// One line on standard error.
private func printError(_ line: String) {
    try? FileDescriptor.standardError.writeAll(Array((line + "\n").utf8))
}
