import CapuchinServer

/// A configuration problem, naming the key (dotted path) it concerns.
public struct ProxyConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

extension ConfigSection {
    /// Runs `body`, turning a `ProxyConfigError` (whose key is relative to this
    /// section) into a `ConfigError` naming the file and full key path.
    func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ProxyConfigError {
            let key = e.key.split(separator: "[").first.map(String.init) ?? e.key
            let base = error(key, e.message)
            throw ConfigError(file: base.file, line: base.line, key: path.isEmpty ? e.key : "\(path).\(e.key)", message: e.message)
        }
    }
}
