import CapuchinTLS
import Foundation
import Glibc
import XCTest

/// What the TLS tests that pair a server session with a client one share: a
/// throwaway certificate and a non-blocking socket pair.
enum TLSTestPeers {
    /// A self-signed P-256 certificate for localhost, made with the openssl command in `dir` (once).
    static func selfSignedContext(in dir: URL) throws -> TLSContext {
        let key = dir.appendingPathComponent("k.pem").path, cert = dir.appendingPathComponent("c.pem").path
        if !FileManager.default.fileExists(atPath: cert) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "1"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
        }
        return try TLSContext(certificateFile: cert, keyFile: key)
    }

    /// A non-blocking AF_UNIX stream pair; `sendBuffer` sets the first one's SO_SNDBUF.
    static func socketPair(sendBuffer: Int32? = nil) -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        if var size = sendBuffer {
            _ = setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        return (fds[0], fds[1])
    }
}
