import ArgumentParser
import CapuchinServer

/// Starts a server the way `serve` and `proxy` both do: a configuration error
/// exits 2, any other start-up failure exits 1, each with a log line.
enum ServerLauncher {
    static func run(log: ErrorLog, _ make: () throws -> Server) throws {
        do {
            try make().run()
        } catch let e as ConfigError {
            log.error("configuration error: \(e)")
            throw ExitCode(2)
        } catch let list as ConfigErrorList {
            for e in list.errors { log.error("configuration error: \(e)") }
            throw ExitCode(2)
        } catch {
            log.error("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}
