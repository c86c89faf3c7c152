import CapuchinSystem

/// The public ports (`server.port`, `listeners`) and every plugin listener's port can be bound now (nothing
/// else, such as a running server, holds them). Port 0 (any free port) is not checked.
struct PortsCheck: ConfigCheckStep {
    let pluginListeners: [ListenerSpec]

    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        var wanted: [(key: String, host: String, port: Int)] = [("server.port", config.listenAddress, config.port)]
        for l in config.extraListeners { wanted.append(("\(l.configKey).port", l.address, l.port)) }
        for l in pluginListeners { wanted.append(("\(l.pluginName).port", l.host, l.port)) }
        for w in wanted where w.port != 0 {
            do {
                let fd = try Socket.listen(host: w.host, port: w.port, reusePort: false, backlog: 1)
                FileIO.close(fd)
            } catch let e as SystemError {
                let key = config.line(of: w.key) == nil && w.key == "server.port" && config.line(of: "server.listen") != nil ? "server.listen" : w.key
                report.add(config, key, "cannot listen on \(w.host):\(w.port): \(e)")
            } catch {
                report.add(config, w.key, "cannot listen on \(w.host):\(w.port): \(error)")
            }
        }
    }
}
