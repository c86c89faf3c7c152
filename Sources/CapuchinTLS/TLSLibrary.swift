import COpenSSL

/// The OpenSSL the process runs with.
public enum TLSLibrary {
    /// "OpenSSL 3.0.19 27 Jan 2026".
    public static var version: String {
        _ = TLSRecordBuffers.isPooling  // before OpenSSL's first allocation
        return String(cString: OpenSSL_version(Int32(OPENSSL_VERSION)))
    }
}
