import Glibc

/// Reading and clearing process environment variables.
public enum Environment {
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// unsetenv(3): so children (none today) do not inherit e.g. NOTIFY_SOCKET.
    public static func remove(_ name: String) { unsetenv(name) }

    public static func set(_ name: String, _ value: String) { setenv(name, value, 1) }
}
