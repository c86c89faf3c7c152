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
