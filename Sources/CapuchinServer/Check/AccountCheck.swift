import CapuchinSystem

/// `server.user` and `server.group` name an existing user and group.
struct AccountCheck: ConfigCheckStep {
    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        guard let user = config.user else { return }
        do {
            _ = try Credentials.lookup(user: user, group: config.group)
        } catch CredentialError.noSuchGroup(let g) {
            report.add(config, "server.group", "no such group '\(g)'")
        } catch {
            report.add(config, "server.user", "\(error)")
        }
    }
}
