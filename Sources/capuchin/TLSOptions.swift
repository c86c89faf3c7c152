import ArgumentParser

/// `--tls-cert` and `--tls-key`, shared by `serve` and `proxy`: the listener on `--port` speaks HTTPS.
struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Serve HTTPS on --port with this PEM certificate chain (with --tls-key).", valueName: "file"))
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "file"))
    var key: String?

    func validate() throws {
        if (certificate == nil) != (key == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }
}
