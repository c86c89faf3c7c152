/// `capuchin check`: every TLS certificate chain and key of the listeners and
/// sites loads, and each key matches its certificate (what `serve` would refuse
/// to start with).
struct TLSCertificatesCheck: ConfigCheckStep {
    func run(_ config: ServerConfig, into report: ConfigDiagnostics) {
        for e in TLSCertificateLoader.problems(config) { report.add(e) }
    }
}
