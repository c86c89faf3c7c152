@testable import CapuchinSystem
import Glibc
import XCTest

/// Socket calls whose kernel behaviour the server relies on.
final class SocketTests: XCTestCase {
    /// A listener has TCP_NODELAY and an accepted socket inherits it (workers do
    /// not set it per connection), and accept4 gives the peer's address.
    func testAcceptedSocketsInheritNoDelayAndNameTheirPeer() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0, reusePort: false, backlog: 4)
        defer { FileIO.close(listener) }
        let (client, _) = try Socket.connect(host: "127.0.0.1", port: Socket.localPort(of: listener))
        defer { FileIO.close(client) }
        var peer = PeerAddress(host: "-", port: 0)
        var accepted: Int32 = -1
        for _ in 0..<200 where accepted < 0 {
            if case .processed(let fd) = try Socket.accept(listener, peer: &peer) { accepted = fd } else { usleep(5000) }
        }
        XCTAssertGreaterThanOrEqual(accepted, 0, "the connection is accepted")
        defer { FileIO.close(accepted) }
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        XCTAssertEqual(getsockopt(accepted, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &len), 0)
        XCTAssertEqual(value, 1, "TCP_NODELAY inherited from the listener")
        var local = sockaddr_in()
        var localLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client, $0, &localLength) } }
        XCTAssertEqual(peer, PeerAddress(host: "127.0.0.1", port: Int(UInt16(bigEndian: local.sin_port))))
    }
}
