import COpenSSL

/// The OpenSSL the process runs with.
public enum TLSLibrary {
    /// "OpenSSL 3.0.19 27 Jan 2026".
    public static var version: String { String(cString: OpenSSL_version(Int32(OPENSSL_VERSION))) }
}
