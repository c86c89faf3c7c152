/// What the upstream request's Host header carries.
public enum HostHeaderMode: Sendable, Equatable {
    /// The client's Host, unchanged (virtual hosting on the backend).
    case pass
    /// The backend's own `host[:port]`.
    case backend
    /// A fixed value from the config.
    case fixed(String)
}
