import CapuchinSystem

/// `server.user` / `server.group`: started as root, the server binds its
/// listeners, opens its state directory and logs, then runs as that user
/// (setgroups, setgid, setuid), as nginx's workers run as www-data.
///
/// Files created while starting (the cache store, logs) must belong to the
/// user, or it could not write them after the drop: they are created inside
/// `asTarget`, with only the effective ids switched; the real ids stay root
/// so the listeners (ports below 1024) are bound as root afterwards.
public final class PrivilegeDrop {
    /// nil: stay as started (not root, or no `server.user`).
    public let target: Credentials?
    private let startedAsRoot: Bool
    private let stateDir: String

    /// Resolves `server.user` / `server.group`. Throws `ConfigError` naming the
    /// key for a user or group the system does not know.
    public init(config: ServerConfig) throws {
        startedAsRoot = Credentials.effectiveUID == 0
        stateDir = config.stateDir
        guard let user = config.user else { target = nil; return }
        let resolved: Credentials
        do {
            resolved = try Credentials.lookup(user: user, group: config.group)
        } catch let e as CredentialError {
            let key = { if case .noSuchGroup = e { return "server.group" } else { return "server.user" } }()
            throw ConfigError(file: config.file, line: config.line(of: key), key: key, message: "\(e)")
        }
        target = startedAsRoot && resolved.uid != 0 ? resolved : nil
    }

    /// Logs what will happen: the warning naming `server.user` when running as
    /// root without it, or that the key is ignored when not started as root.
    public func announce(config: ServerConfig, log: ErrorLog) {
        if startedAsRoot && config.user == nil {
            log.warn("running as root: set server.user (and server.group) in \(config.file) to drop privileges after binding, e.g. server.user: nobody")
        } else if !startedAsRoot, let user = config.user, Credentials.userName(of: Credentials.effectiveUID) != user,
                  String(Credentials.effectiveUID) != user {
            log.warn("server.user '\(user)' ignored: not started as root (running as \(Credentials.userName(of: Credentials.effectiveUID)))")
        }
    }

    /// Makes sure the state directory belongs to the target user: created
    /// (owned by it) when missing; owned by anyone else it is a start error
    /// naming the directory, the owner and the command that fixes it.
    /// Throws `ConfigError` (key `server.state_dir`) or `SystemError`.
    public func prepareStateDirectory(config: ServerConfig) throws {
        guard let target else { return }
        let key = "server.state_dir"
        if let owner = try FileOwnership.of(stateDir) {
            guard owner.isDirectory else {
                throw ConfigError(file: config.file, line: config.line(of: key), key: key, message: "'\(stateDir)' is not a directory")
            }
            if owner.uid != target.uid {
                throw ConfigError(file: config.file, line: config.line(of: key), key: key,
                                  message: "'\(stateDir)' is owned by \(Credentials.userName(of: owner.uid)), not by server.user "
                                      + "'\(target.userName)', which the server runs as: chown -R \(target.userName) \(stateDir)")
            }
        } else {
            try FileOwnership.makeDirectory(stateDir, mode: 0o750)
            try FileOwnership.change(stateDir, uid: target.uid, gid: target.gid)
        }
    }

    /// Runs `body` with the target user's effective ids (files it creates are
    /// the user's), then back to root. Without a target: just runs it.
    public func asTarget<T>(_ body: () throws -> T) throws -> T {
        guard let target else { return try body() }
        try target.assumeEffectively()
        defer { try? Credentials.restoreRoot() }
        return try body()
    }

    /// The permanent drop, after the listeners are bound. Throws `SystemError`.
    public func dropPermanently(log: ErrorLog) throws {
        guard let target else { return }
        try target.dropPermanently()
        Environment.set("HOME", target.home)
        Environment.set("USER", target.userName)
        log.info("running as \(target.userName) (uid \(target.uid), gid \(target.gid))")
    }
}
