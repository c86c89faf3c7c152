/// What `capuchin --version` prints. `buildRevision` comes from the file the
/// BuildRevision plugin generates before each build (`git describe`, or "unknown").
enum Version {
    static let number = "0.9.0"
    static var text: String { "capuchin \(number) (git \(buildRevision))" }
}
