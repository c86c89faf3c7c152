import CapuchinSystem

/// Every site's root exists, is a directory and can be read.
struct SitePathsCheck: ConfigCheckStep {
    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        if config.sites.isEmpty { report.add(config, "sites", "no site configured (add a `sites` entry or pass --root)") }
        for (i, site) in config.sites.enumerated() {
            let key = "sites[\(i)].root"
            if let problem = PathProbe.directoryProblem(site.root, needs: AccessMode.read | AccessMode.search) { report.add(config, key, problem) }
        }
    }
}

/// The error log and every access log can be appended to (the file, or its directory when missing).
struct LogPathsCheck: ConfigCheckStep {
    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        var logs: [(key: String, path: String)] = []
        if config.errorLog != "stderr" { logs.append(("logging.error_log", config.errorLog)) }
        if let a = config.accessLog { logs.append(("logging.access_log", a)) }
        for (i, site) in config.sites.enumerated() { if let a = site.accessLog { logs.append(("sites[\(i)].access_log", a)) } }
        for log in logs {
            if let problem = PathProbe.writableFileProblem(log.path) { report.add(config, log.key, problem) }
        }
    }
}

/// The state directory exists and is writable, or can be created; when the
/// server will drop to `server.user`, it must not belong to anyone else.
struct StateDirectoryCheck: ConfigCheckStep {
    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        let key = "server.state_dir"
        let dir = config.stateDir
        guard let owner = try? FileOwnership.of(dir) else {
            let parent = ConfigLoader.directoryOf(dir)
            if let problem = PathProbe.directoryProblem(parent, needs: AccessMode.write | AccessMode.search) {
                report.add(config, key, "'\(dir)' does not exist and cannot be created: \(problem)")
            }
            return
        }
        guard owner.isDirectory else { return report.add(config, key, "'\(dir)' is not a directory") }
        if let user = config.user, Credentials.effectiveUID == 0,
           let target = try? Credentials.lookup(user: user, group: config.group), target.uid != 0, owner.uid != target.uid {
            report.add(config, key, "'\(dir)' is owned by \(Credentials.userName(of: owner.uid)), not by server.user '\(target.userName)': chown -R \(target.userName) \(dir)")
        } else if let problem = PathProbe.directoryProblem(dir, needs: AccessMode.write | AccessMode.search) {
            report.add(config, key, problem)
        }
    }
}

/// Answers "can this path be used" with a message, or nil when it can.
enum PathProbe {
    static func directoryProblem(_ path: String, needs mode: Int32) -> String? {
        let owner: FileOwnership?
        do { owner = try FileOwnership.of(path) } catch { return "'\(path)': \(error)" }
        guard let owner else { return "'\(path)' does not exist" }
        if !owner.isDirectory { return "'\(path)' is not a directory" }
        if let e = FileOwnership.accessError(path, mode) {
            return "'\(path)' is not \(mode & AccessMode.write != 0 ? "writable" : "readable"): \(Errno(rawValue: e))"
        }
        return nil
    }

    static func writableFileProblem(_ path: String) -> String? {
        if let existing = try? FileOwnership.of(path) {
            if existing.isDirectory { return "'\(path)' is a directory" }
            if let e = FileOwnership.accessError(path, AccessMode.write) { return "'\(path)' is not writable: \(Errno(rawValue: e))" }
            return nil
        }
        let parent = ConfigLoader.directoryOf(path)
        if let problem = directoryProblem(parent, needs: AccessMode.write | AccessMode.search) { return "cannot create '\(path)': \(problem)" }
        return nil
    }
}
